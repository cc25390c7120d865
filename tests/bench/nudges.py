"""Bench figures of the managers' nudges (issue 14); wired in tests/bench/run.py (EXTRA_FIGURE_MODULES).

DynamoDB requests counted at botocore (tests/support/counting.py), on moto with the shipped workshop program:
- nudge_requests_per_achievement: what planning one nudge costs in the league scorer's invocation, after the
  achievement's own transaction: the person's and the manager's contacts (a BatchGetItem each) and ONE
  TransactWriteItems (the nudge, the manager's day counter, the alert, the manager's open nudge);
- nudge_requests_per_quiet_batch: what the nudge step adds to a scorer batch with no achievement and no CSAT award
  (goal 0: nudges cost nothing where there is nothing to nudge);
- nudge_requests_per_csat_batch: what it adds to a batch of one person's CSAT awards that completes no run (the run's
  BatchGetItem and its conditional PutItem);
- nudge_reply_requests: a manager's YES answering a nudge, from the inbound message to the reply (the sender by phone,
  the open nudge, the spot award's reads and its ONE transaction, the nudge closed).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def figures() -> dict[str, Any]:
    import tests.conftest  # noqa: F401  (test environment: dummy credentials, Powertools settings)
    from shared.alerts.store import AlertStore
    from shared.directory.contacts import ContactBook
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.leagues.live_store import LiveStore
    from shared.leagues.scorer import LeagueScorer
    from shared.recognition.nudge_service import Nudger
    from shared.recognition.nudge_store import NudgeStore
    from shared.recognition.nudges import Milestone, MilestoneKind, Outcome
    from shared.recognition.spot_service import SpotAwards
    from shared.recognition.spot_store import SpotStore
    from tests.integration.test_nudges import BOOK, DIRECTORY, LEAGUES, NOW, Env, version_of
    from tests.support.counting import count_requests
    from tests.support.local_aws import local_aws

    every = {'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'BatchGetItem', 'TransactWriteItems', 'BatchWriteItem', 'Scan'}
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), NOW - timedelta(days=30))
        alerts, store = AlertStore(), NudgeStore()
        nudger = Nudger(store=store, contacts=ContactBook(), alerts=alerts, programs=lambda: BOOK)
        env = Env(aws, alerts, store, LeagueScorer(LiveStore(), alerts, leagues=lambda: LEAGUES), nudger,
                  SpotAwards(SpotStore(), DirectoryStore(), programs=version_of))  # fmt: skip
        with count_requests() as counter:
            planned = nudger.nudge(Milestone('pitstop', 'T1', MilestoneKind.BADGE, 'badge#certified', 'Certified', NOW), NOW)
        assert planned is Outcome.PLANNED
        per_achievement = counter.dynamodb(every)

        quiet = env.write(env.entry('T3', 10))
        with count_requests() as counter:
            nudger.after_scoring(quiet, [], NOW)
        per_quiet_batch = counter.dynamodb(every)

        csat = env.write(*(env.entry('T4', 25, rule='csat_positive', inputs={'csat': 5}) for _ in range(3)))
        with count_requests() as counter:
            nudger.after_scoring(csat, [], NOW)
        per_csat_batch = counter.dynamodb(every)

        with count_requests() as counter:
            env.send('YES', NOW + timedelta(hours=1))
        per_reply = counter.dynamodb(every)
    return {'nudge_requests_per_achievement': per_achievement, 'nudge_requests_per_quiet_batch': per_quiet_batch,
            'nudge_requests_per_csat_batch': per_csat_batch, 'nudge_reply_requests': per_reply}  # fmt: skip
