"""Infrastructure tests for the managers' nudge replies in template.yaml: the Twilio webhooks function may make exactly
the calls a YES answering a nudge makes (recorded on moto: the open nudge, the spot award's transaction with its ledger
entry and balance, the nudge closed, then a YES without an open nudge, i.e. START), each confined to the partitions it
touches. The nudges planned by the league scorer and the streak judgement are covered by their own template tests
(their recordings include the nudges)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any

from infrastructure.local.template_resources import TABLE_ENV
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
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws
from tests.template.test_period_close_template import RESOURCES, dynamodb_grants, statements

FUNCTION = 'TwilioWebhooksFunction'
NUDGE_STATEMENTS = ('AnswerNudges', 'NudgeAwardEntries', 'NudgeAwardBalances', 'NudgeAwardProfiles')
Recorded = list[tuple[str, str, dict[str, Any], Any]]


def reply_calls() -> Recorded:
    return _recorded()[0]


def _logical() -> dict[str, str]:
    """Table name -> logical id, as they were while recording (other tests may name the tables otherwise later)."""
    return _recorded()[1]


@lru_cache(maxsize=1)
def _recorded() -> tuple[Recorded, dict[str, str]]:
    """Every request of Meera's YES answering her open nudge (a spot award at once), then a YES with none open (START)."""
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), NOW - timedelta(days=30))
        alerts, store = AlertStore(), NudgeStore()
        nudger = Nudger(store=store, contacts=ContactBook(), alerts=alerts, programs=lambda: BOOK)
        env = Env(aws, alerts, store, LeagueScorer(LiveStore(), alerts, leagues=lambda: LEAGUES), nudger,
                  SpotAwards(SpotStore(), DirectoryStore(), programs=version_of))  # fmt: skip
        milestone = Milestone('pitstop', 'T1', MilestoneKind.BADGE, 'badge#certified', 'Certified', NOW)
        assert nudger.nudge(milestone, NOW) is Outcome.PLANNED
        with record_requests() as sent:
            env.send('YES', NOW + timedelta(hours=1))
            env.send('YES', NOW + timedelta(hours=2))
        logical = {os.environ[env]: logical_id for logical_id, (env, _) in TABLE_ENV.items() if env in os.environ}
        return [call for call in sent if call[0] == 'dynamodb'], logical


def needed_by_reply() -> set[tuple[str, str]]:
    """(IAM action, table logical id) of each recorded request (a transaction needs each item's action)."""
    logical = _logical()
    actions = {'Put': 'PutItem', 'Update': 'UpdateItem', 'Delete': 'DeleteItem', 'ConditionCheck': 'ConditionCheckItem'}
    need: set[tuple[str, str]] = set()
    for _, operation, params, _ in reply_calls():
        if operation == 'BatchGetItem':
            need |= {('dynamodb:BatchGetItem', logical[table]) for table in params['RequestItems']}
        elif operation == 'TransactWriteItems':
            need |= {
                (f'dynamodb:{actions[kind]}', logical[body['TableName']]) for item in params['TransactItems'] for kind, body in item.items()
            }
        else:
            need.add(
                (f'dynamodb:{operation}', logical[params['TableName']] + (f'/index/{params["IndexName"]}' if 'IndexName' in params else ''))
            )
    return need


def reply_calls_as(call: Callable[[str, str, dict[str, Any]], Any], tables: set[str]) -> list[Any]:
    """The recorded reply as test_alerts_template's `Call(service, operation, kwargs)` records, tables named by logical id
    (a transaction as its item actions), keeping the calls on `tables`."""
    logical = _logical()
    snake = {'GetItem': 'get_item', 'PutItem': 'put_item', 'UpdateItem': 'update_item', 'DeleteItem': 'delete_item', 'Query': 'query',
             'BatchGetItem': 'batch_get_item'}  # fmt: skip
    actions = {'Put': 'put_item', 'Update': 'update_item', 'Delete': 'delete_item', 'ConditionCheck': 'condition_check_item'}
    found = []
    for _, operation, params, _ in reply_calls():
        if operation == 'TransactWriteItems':
            for item in params['TransactItems']:
                ((kind, body),) = item.items()
                if logical[body['TableName']] in tables:
                    found.append(call('dynamodb', actions[kind], {**body, 'TableName': logical[body['TableName']]}))
        elif operation == 'BatchGetItem':
            request = {logical[table]: keys for table, keys in params['RequestItems'].items() if logical[table] in tables}
            if request:
                found.append(call('dynamodb', 'batch_get_item', {'RequestItems': request}))
        elif logical[params['TableName']] in tables:
            found.append(call('dynamodb', snake[operation], {**params, 'TableName': logical[params['TableName']]}))
    return found


def _nudge_grants() -> set[tuple[str, str]]:
    function = RESOURCES[FUNCTION]
    mine = [statement for statement in statements(function) if statement.get('Sid') in NUDGE_STATEMENTS]
    assert len(mine) == len(NUDGE_STATEMENTS)
    return dynamodb_grants({'Properties': {'Policies': [{'Statement': mine}]}})


def test_the_twilio_function_may_make_every_call_of_a_nudge_reply_and_each_nudge_grant_is_used() -> None:
    # Given: the DynamoDB requests of a YES that awards and a YES that is START (recorded on moto)
    need = needed_by_reply()
    # When: comparing them with the function's grants
    granted = dynamodb_grants(RESOURCES[FUNCTION])
    # Then: every call is granted, and every grant added for nudge replies is used by one
    assert sorted(need - granted) == []
    assert sorted(_nudge_grants() - need) == []
    assert need >= {
        ('dynamodb:PutItem', 'LedgerTable'),
        ('dynamodb:UpdateItem', 'BalancesTable'),
        ('dynamodb:DeleteItem', 'RecognitionTable'),
    }


def test_the_nudge_grants_are_confined_to_the_partitions_a_reply_touches() -> None:
    # Given: the leading keys the nudge statements allow, and every item a reply touches on those tables
    logical = _logical()
    prefixes: dict[str, list[str]] = {}
    for statement in statements(RESOURCES[FUNCTION]):
        if statement.get('Sid') in NUDGE_STATEMENTS:
            keys = statement['Condition'].get('ForAllValues:StringLike', {}).get('dynamodb:LeadingKeys', [])
            prefixes.setdefault(statement['Resource']['Fn::GetAtt'][0], []).extend(str(key).rstrip('*') for key in keys)
    touched: list[tuple[str, str]] = []
    for _, operation, params, _ in reply_calls():
        if operation == 'TransactWriteItems':
            touched += [(body['TableName'], (body.get('Item') or body['Key'])['pk']['S']) for item in params['TransactItems']
                        for body in item.values()]  # fmt: skip
        elif operation in ('GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'):
            touched.append((params['TableName'], (params.get('Item') or params['Key'])['pk']['S']))
    # Then: on the recognition table and the balances every item is in a granted partition (the ledger entry's grant is
    # confined to transactions instead)
    outside = [(logical[table], pk) for table, pk in touched if logical[table] in ('RecognitionTable', 'BalancesTable')
               and not any(pk.startswith(prefix) for prefix in prefixes[logical[table]])]  # fmt: skip
    assert outside == []
    assert {logical[table] for table, _ in touched} >= {'RecognitionTable', 'BalancesTable', 'LedgerTable'}


def test_the_scorer_and_streak_recordings_that_prove_their_grants_include_planned_nudges() -> None:
    # Given: the league scorer's and the streak judgement's recorded requests (their own template tests compare them
    # with the grants)
    from tests.template.test_league_scorer_template import recorded_calls as scorer_calls
    from tests.template.test_league_streaks_template import recorded_calls as streak_calls

    def nudges_written(calls: Recorded) -> int:
        return sum(1 for _, operation, params, _ in calls if operation == 'TransactWriteItems'
                   for item in params['TransactItems'] if item.get('Put', {}).get('Item', {}).get('pk', {}).get('S', '').startswith('NUDGE#'))  # fmt: skip

    # Then: both planned nudges (so the comparison covers the nudge's transaction, not only reads)
    assert nudges_written(scorer_calls()) >= 1 and nudges_written(streak_calls()) >= 1
