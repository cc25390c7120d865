"""Nudges on moto: achievements reach the league scorer through the ledger's stream, the manager's nudge lands as an alert
item (once per achievement, at most `per_manager_per_day` a day, held through quiet hours by the alert sender), and the
manager's YES or amount over WhatsApp becomes a spot award on the person's ledger, charged to the manager's budget."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared.alerts.plan import AlertKind, Recipient
from shared.alerts.store import AlertItem, AlertStore
from shared.alerts.sync import alert_id
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.leagues.live import StreamEntry, parse_record
from shared.leagues.live_store import LiveStore
from shared.leagues.scorer import LeagueScorer, ScoreResult, leagues_of
from shared.leagues.streak_store import StreakBadgeAward
from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from shared.ledger.store import LedgerStore
from shared.notify import EmailContent
from shared.notify.conversations import Conversations
from shared.notify.dispatch import AlertDispatcher
from shared.notify.dispatch import Outcome as Delivery
from shared.notify.messages import reply
from shared.notify.twilio_webhooks import inbound_message
from shared.programs.document import parse_program
from shared.programs.loader import ProgramBook, ProgramVersion
from shared.recognition.nudge_service import Nudger, NudgeReplies, NudgeReport
from shared.recognition.nudge_store import NudgeStore, day_key, open_pk, run_key
from shared.recognition.nudge_texts import reply_text
from shared.recognition.nudges import Milestone, MilestoneKind, Outcome
from shared.recognition.spot_service import SpotAwards
from shared.recognition.spot_store import SpotStore
from shared.sla.config import ServiceConfig
from tests.support.local_aws import LocalAws, local_aws

EVENTS = Path(__file__).resolve().parents[2] / 'events'
WORKSHOP = parse_program((EVENTS / 'program_workshop.json').read_text())
BOOK = ProgramBook.of(WORKSHOP)
LEAGUES = leagues_of(BOOK)
NOW = datetime(2026, 10, 12, 6, 0, tzinfo=UTC)  # 11:30 in Kolkata
MEERA = '+919800000009'
DIRECTORY = f"""employee_id,name,role,location_id,region,manager_id,phone,whatsapp_opt_in,email,time_zone,language
T1,Dev Kumar,technician,IN-PNQ-01,IN-West,M2,+919800000001,yes,,Asia/Kolkata,hi
T2,Bela Nair,technician,IN-PNQ-01,IN-West,M2,+919800000002,yes,,Asia/Kolkata,en
T3,Chitra Das,technician,IN-PNQ-01,IN-West,M2,+919800000003,yes,,Asia/Kolkata,en
T4,Esha Iyer,technician,IN-PNQ-01,IN-West,M2,+919800000004,yes,,Asia/Kolkata,en
T5,Farhan Ali,technician,IN-PNQ-01,IN-West,M2,+919800000005,yes,,Asia/Kolkata,en
T9,Lone Wolf,technician,IN-PNQ-01,IN-West,,+919800000099,yes,,Asia/Kolkata,en
M2,Meera Shah,service_manager,IN-PNQ-01,IN-West,,{MEERA},yes,meera@example.com,Asia/Kolkata,en
"""


def version_of(program_id: str, at: datetime) -> ProgramVersion | None:
    return BOOK.for_basis(program_id, at) or BOOK.latest(program_id)


@dataclass
class Outbox:
    sent: list[tuple[str, EmailContent]]

    def __call__(self, to: str, content: EmailContent) -> str | None:
        self.sent.append((to, content))
        return f'ses-{len(self.sent)}'


@dataclass
class Env:
    aws: LocalAws
    alerts: AlertStore
    store: NudgeStore
    scorer: LeagueScorer
    nudger: Nudger
    spot: SpotAwards
    position: int = 0
    counter: int = 0

    def entry(self, employee: str, amount: int, *, rule: str = 'first_time_fix', inputs: dict[str, Any] | None = None,
              kind: EntryKind = EntryKind.AWARD) -> LedgerEntry:  # fmt: skip
        self.counter += 1
        reason = EntryReason(ticket_key=f'dms#JC-{self.counter}', source_event_id='release', basis_event_id=f'b{self.counter}',
                             rule_id=rule, rule_version=1, program_id='pitstop@1', inputs=inputs or {})  # fmt: skip
        return LedgerEntry(entry_id=f'E{self.counter:031d}', employee_id=employee, amount=amount, kind=kind, status=EntryStatus.AVAILABLE,
                           reason=reason, occurred_at=NOW, recorded_at=NOW)  # fmt: skip

    def write(self, *entries: LedgerEntry) -> list[StreamEntry]:
        """Append entries to the ledger table and take the stream's new records (as Lambda delivers them), parsed."""
        from moto.dynamodb.models import dynamodb_backends

        for entry in entries:
            self.aws.dynamodb.put_item(TableName=os.environ['LEDGER_TABLE'], Item={
                'pk': {'S': f'EMP#{entry.employee_id}'}, 'sk': {'S': f'ENTRY#{entry.entry_id}'}, 'entry': {'S': entry.model_dump_json()},
                'amount': {'N': str(entry.amount)}, 'kind': {'S': entry.kind.value}, 'period': {'S': entry.period},
                'recorded_at': {'S': entry.recorded_at.isoformat()}})  # fmt: skip
        shard = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']].get_table(os.environ['LEDGER_TABLE']).stream_shard
        assert shard is not None
        records = [item.to_json() for item in shard.items[self.position :]]
        self.position += len(records)
        return [parsed for parsed in map(parse_record, records) if parsed is not None]

    def score(self, entries: list[StreamEntry], now: datetime = NOW) -> tuple[ScoreResult, NudgeReport]:
        """What the league scorer's invocation does: the standings, then the nudges."""
        result = self.scorer.apply(entries, now)
        return result, self.nudger.after_scoring(entries, result.achievements, now)

    def nudge_alerts(self, at: datetime = NOW) -> list[AlertItem]:
        found = [self.alerts.get(due.alert_id) for due in self.alerts.due(at + timedelta(days=3)).due]
        return [item for item in found if item is not None and item.kind == AlertKind.NUDGE.value]

    def item(self, pk: str | dict[str, str], sk: str | dict[str, str]) -> dict[str, Any]:
        key = {'pk': pk if isinstance(pk, dict) else {'S': pk}, 'sk': sk if isinstance(sk, dict) else {'S': sk}}
        return dict(self.aws.dynamodb.get_item(TableName=os.environ['RECOGNITION_TABLE'], Key=key).get('Item', {}))

    def replies(self) -> NudgeReplies:
        return NudgeReplies(store=self.store, contacts=ContactBook(), spot=self.spot, programs=lambda: BOOK)

    def send(self, body: str, now: datetime, sender: str = MEERA) -> str | None:
        conversations = Conversations(alerts=self.alerts, contacts=ContactBook(), queue=None, nudges=self.replies())  # type: ignore[arg-type]
        return conversations.inbound(inbound_message({'MessageSid': f'SM{body}', 'From': f'whatsapp:{sender}', 'Body': body}), now)


@pytest.fixture()
def env() -> Iterator[Env]:
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), NOW - timedelta(days=30))
        alerts, store = AlertStore(), NudgeStore()
        nudger = Nudger(store=store, contacts=ContactBook(), alerts=alerts, programs=lambda: BOOK)
        spot = SpotAwards(SpotStore(), DirectoryStore(), programs=version_of)
        yield Env(aws, alerts, store, LeagueScorer(LiveStore(), alerts, leagues=lambda: LEAGUES), nudger, spot)


def certified(employee: str, at: datetime = NOW) -> Milestone:
    return Milestone('pitstop', employee, MilestoneKind.BADGE, 'badge#certified', 'Certified', at)


# --- an achievement, once -----------------------------------------------------------------------------------------------
def test_a_level_reached_gives_the_manager_one_nudge_with_the_evidence(env: Env) -> None:
    # Given Dev (manager Meera) earning 1,020 points at once: level Pit crew in the Pitstop League
    entries = env.write(env.entry('T1', 1020))

    # When the scorer's invocation handles the batch
    result, report = env.score(entries)

    # Then the level was written and Meera has one nudge alert about Dev, in her language, with the evidence and the ask
    assert [(a.kind, a.name) for a in result.achievements] == [('level', 'Pit crew')]
    assert report.outcomes == {'planned': 1}
    [alert] = env.nudge_alerts()
    assert (alert.role, alert.subject, alert.ref, alert.status) == (Recipient.MANAGER.value, 'T1', 'Pitstop League', 'pending')
    assert (
        alert.threshold == 'Dev reached level Pit crew in Pitstop League (1,020 points). Reply YES to give 100 points or reply an amount.'
    )
    nudge_id = Milestone('pitstop', 'T1', MilestoneKind.LEVEL, 'level#1', 'Pit crew', NOW).nudge_id
    assert alert.alert_id == alert_id(f'nudge#{nudge_id}', Recipient.MANAGER)
    stored = env.store.nudge('pitstop', 'T1', 'level#1')
    assert stored is not None and (stored.status, stored.manager_id, stored.suggested_points) == ('open', 'M2', 100)
    assert env.item(open_pk('M2'), '-')['nudge_id']['S'] == nudge_id


def test_the_same_achievement_reported_again_is_never_nudged_twice(env: Env) -> None:
    # Given Dev's level nudged once
    entries = env.write(env.entry('T1', 1020))
    result, _ = env.score(entries)

    # When the batch is delivered again, and the same achievement is reported again (a retried invocation)
    again, report = env.score(entries)
    repeated = env.nudger.after_scoring([], result.achievements, NOW + timedelta(hours=1))

    # Then nothing new: the stream's retry reports no achievement, the repeated report finds the nudge already there
    assert again.achievements == [] and report.outcomes == {}
    assert repeated.outcomes == {'duplicate': 1}
    assert len(env.nudge_alerts()) == 1
    assert int(env.item(**day_key('pitstop', 'M2', '2026-10-12'))['planned']['N']) == 1


def test_someone_without_a_manager_gets_no_nudge(env: Env) -> None:
    _, report = env.score(env.write(env.entry('T9', 1020)))
    assert report.outcomes == {'no_manager': 1} and env.nudge_alerts() == []


# --- the daily limit ---------------------------------------------------------------------------------------------------
def test_the_fourth_nudge_of_a_managers_day_is_recorded_as_skipped_and_not_sent(env: Env) -> None:
    # Given the program's limit of 3 nudges per manager per day, and four of Meera's people certified on one day
    assert WORKSHOP.recognition is not None and WORKSHOP.recognition.nudges.per_manager_per_day == 3

    # When each is nudged
    outcomes = [env.nudger.nudge(certified(person), NOW + timedelta(minutes=n)) for n, person in enumerate(('T1', 'T2', 'T3', 'T4'))]

    # Then three are sent, the fourth is recorded as skipped (so it is never planned later either), with no alert
    assert outcomes == [Outcome.PLANNED, Outcome.PLANNED, Outcome.PLANNED, Outcome.SKIPPED]
    assert sorted(alert.subject for alert in env.nudge_alerts()) == ['T1', 'T2', 'T3']
    skipped = env.store.nudge('pitstop', 'T4', 'badge#certified')
    assert skipped is not None and skipped.status == 'skipped'
    assert env.nudger.nudge(certified('T4'), NOW + timedelta(days=1)) is Outcome.DUPLICATE
    assert env.store.planned_on('pitstop', 'M2', '2026-10-12') == 3
    assert env.item(open_pk('M2'), '-')['employee_id']['S'] == 'T3'  # the latest sent one is what a YES answers


def test_the_limit_counts_on_the_managers_own_day(env: Env) -> None:
    # Given three nudges for Meera at 23:00 in Kolkata (17:30Z)
    evening = datetime(2026, 10, 12, 17, 30, tzinfo=UTC)
    assert [env.nudger.nudge(certified(p), evening) for p in ('T1', 'T2', 'T3')] == [Outcome.PLANNED] * 3

    # When a fourth comes at 00:05 her next day (18:35Z, still the 12th in UTC)
    fourth = env.nudger.nudge(certified('T4'), datetime(2026, 10, 12, 18, 35, tzinfo=UTC))

    # Then it is her new day's first
    assert fourth is Outcome.PLANNED
    assert (env.store.planned_on('pitstop', 'M2', '2026-10-12'), env.store.planned_on('pitstop', 'M2', '2026-10-13')) == (3, 1)


# --- quiet hours ---------------------------------------------------------------------------------------------------------
def test_a_nudge_planned_in_the_managers_quiet_hours_is_held_until_her_morning(env: Env) -> None:
    # Given Dev certified at 22:30 in Kolkata (17:00Z): Meera's quiet hours (21:00-08:00)
    late = datetime(2026, 10, 12, 17, 0, tzinfo=UTC)
    assert env.nudger.nudge(certified('T1', late), late) is Outcome.PLANNED
    [alert] = env.nudge_alerts(late)
    outbox = Outbox([])
    dispatcher = AlertDispatcher(alerts=env.alerts, contacts=ContactBook(), messenger=lambda: None, email=outbox,  # type: ignore[arg-type,return-value]
                                 config=lambda: ServiceConfig(), wall=lambda: 0.0)  # fmt: skip

    # When the sender takes it at once
    held = dispatcher.deliver(alert.alert_id, late, 0.0, claim_id='first')

    # Then it is held until 08:00 her time (02:30Z) and nothing is sent; then it goes out by e-mail (a manager's channel)
    morning = datetime(2026, 10, 13, 2, 30, tzinfo=UTC)
    assert (held.outcome, held.detail) == (Delivery.HELD, morning.isoformat())
    assert outbox.sent == []
    sent = dispatcher.deliver(alert.alert_id, morning, 0.0, claim_id='second')
    assert (sent.outcome, sent.channel) == (Delivery.SENT, 'email')
    [(to, content)] = outbox.sent
    assert to == 'meera@example.com'
    assert content.text == ('For your team (Dev Kumar): Meera, Pitstop League: Dev earned the badge "Certified" in Pitstop League. '
                            'Reply YES to give 100 points or reply an amount.')  # fmt: skip


# --- CSAT runs and streak badges --------------------------------------------------------------------------------------------
def test_five_top_csat_scores_in_a_row_nudge_once_and_a_redelivery_changes_nothing(env: Env) -> None:
    # Given Bela's CSAT awards: a 5, a 4 (ends the run), then five 5s, delivered in two batches
    csat = [env.entry('T2', 25, rule='csat_positive', inputs={'csat': score, 'response_id': f'r{n}'})
            for n, score in enumerate([5, 4, 5, 5, 5, 5, 5])]  # fmt: skip
    first = env.write(*csat[:4])
    second = env.write(*csat[4:])

    # When the scorer's invocations handle them, and the second batch is delivered again
    _, one = env.score(first)
    _, two = env.score(second)
    _, again = env.score(second)

    # Then the first batch nudged her first 5-star badge (a milestone badge of the league), the second the run of 5, once
    assert (one.outcomes, two.outcomes, again.outcomes) == ({'planned': 1}, {'planned': 1}, {})
    badge, run_alert = sorted(env.nudge_alerts(), key=lambda alert: 'CSAT scores' in alert.threshold)
    assert badge.threshold.startswith('Bela earned the badge "First 5-star CSAT" in Pitstop League.')
    assert run_alert.subject == 'T2' and run_alert.threshold.startswith('Bela got 5 top CSAT scores (5) in a row in Pitstop League.')
    run = env.item(**run_key('pitstop', 'T2'))
    assert (run['count']['N'], run['start']['S'], run['nudged']['BOOL']) == ('5', csat[2].entry_id, True)


def test_a_streak_badge_nudges_the_manager_with_its_days(env: Env) -> None:
    award = StreakBadgeAward(program_id='pitstop', program_version=1, employee_id='T3', badge_id='clean_week',
                             name='Clean week: 5 working days without a breach', days=5, run_start=NOW.date() - timedelta(days=6),
                             reached_on=NOW.date(), reason='5 working days')  # fmt: skip
    assert [env.nudger.streak_badge(award, NOW), env.nudger.streak_badge(award, NOW)] == [Outcome.PLANNED, Outcome.DUPLICATE]
    [alert] = env.nudge_alerts()
    assert alert.threshold.startswith('Chitra earned the streak badge "Clean week: 5 working days without a breach" in Pitstop League: '
                                      '5 working days in a row.')  # fmt: skip


# --- the manager's reply --------------------------------------------------------------------------------------------------
def test_yes_gives_the_suggested_points_as_a_spot_award_from_the_managers_budget(env: Env) -> None:
    # Given Meera's open nudge for Dev's level
    env.score(env.write(env.entry('T1', 1020)))

    # When she replies YES on WhatsApp
    answer = env.send('YES', NOW + timedelta(hours=2))

    # Then Dev has a 100-point spot award entry on his ledger, her October budget shows 100 used, and she is told in English
    assert answer == reply_text('en', 'awarded_left', person='Dev', points=100, left=1900)
    assert LedgerStore().balance('T1', with_pending=False).available == 100
    entries = env.aws.dynamodb.query(TableName=os.environ['LEDGER_TABLE'], KeyConditionExpression='pk = :pk',
                                     ExpressionAttributeValues={':pk': {'S': 'EMP#T1'}})['Items']  # fmt: skip
    spot = [json.loads(item['entry']['S']) for item in entries if json.loads(item['entry']['S'])['kind'] == 'spot_award']
    assert [(e['amount'], e['reason']['rule_id'], e['reason']['inputs']['manager_id']) for e in spot] == [(100, 'spot_award', 'M2')]
    assert SpotStore().used('pitstop', 'M2', '2026-10') == 100
    stored = env.store.nudge('pitstop', 'T1', 'level#1')
    assert stored is not None and (stored.status, stored.points) == ('awarded', 100)
    assert env.item(open_pk('M2'), '-') == {}

    # And a second YES (the nudge is answered) is START again: nothing more is awarded
    assert env.send('YES', NOW + timedelta(hours=3)) == reply('en', 'start', channel='WhatsApp')
    assert SpotStore().used('pitstop', 'M2', '2026-10') == 100


def test_an_amount_over_the_approval_threshold_waits_for_approval(env: Env) -> None:
    env.score(env.write(env.entry('T1', 1020)))
    answer = env.send('400', NOW + timedelta(hours=2))
    assert answer == reply_text('en', 'approval', person='Dev', points=400)
    assert LedgerStore().balance('T1', with_pending=False).available == 0
    assert SpotStore().used('pitstop', 'M2', '2026-10') == 400  # reserved until decided


def test_a_reply_after_the_window_is_told_the_nudge_expired(env: Env) -> None:
    env.score(env.write(env.entry('T1', 1020)))
    assert env.send('YES', NOW + timedelta(hours=49)) == reply_text('en', 'expired')
    assert SpotStore().used('pitstop', 'M2', '2026-10') == 0


def test_yes_without_an_open_nudge_keeps_its_start_meaning(env: Env) -> None:
    # Given Meera opted out of WhatsApp, and no nudge for her
    assert env.send('STOP', NOW) is not None
    contact = ContactBook().contact('M2')
    assert contact is not None and 'whatsapp' in contact.opted_out

    # When she sends YES
    answer = env.send('YES', NOW + timedelta(minutes=5))

    # Then it is START: alerts on WhatsApp are on again, and no spot award was made
    assert answer == reply('en', 'start', channel='WhatsApp')
    contact = ContactBook().contact('M2')
    assert contact is not None and contact.opted_out == frozenset()
    assert SpotStore().used('pitstop', 'M2', '2026-10') == 0


# --- the scorer's function ----------------------------------------------------------------------------------------------
def test_the_league_scorer_function_plans_the_nudge_of_a_level(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.league_scorer import app
    from shared.config import get_settings
    from shared.programs.loader import clear_cache
    from tests.support.apigw import lambda_context

    ssm = boto3.client('ssm', region_name='us-east-1')
    ssm.put_parameter(Name='/pitcrew/test/programs/pitstop', Value=(EVENTS / 'program_workshop.json').read_text(), Type='String',
                      Tier='Intelligent-Tiering')  # fmt: skip
    monkeypatch.setenv('PROGRAMS_PATH', '/pitcrew/test/programs')
    get_settings.cache_clear()
    clear_cache()
    app.scorer.cache_clear()
    app.nudger.cache_clear()
    event = json.loads((EVENTS / 'league_scorer.json').read_text())
    record = event['Records'][0]
    entry = json.loads(record['dynamodb']['NewImage']['entry']['S'])
    entry.update(employee_id='T1', amount=1020)
    record['dynamodb']['NewImage']['entry']['S'] = json.dumps(entry)
    try:
        answer = app.lambda_handler(event, lambda_context())
    finally:
        app.scorer.cache_clear()
        app.nudger.cache_clear()
        clear_cache()
    assert answer == {'batchItemFailures': []}
    [alert] = env.nudge_alerts(datetime.now(UTC))
    assert alert.subject == 'T1' and alert.threshold.startswith('Dev reached level Pit crew in Pitstop League (1,020 points).')


# --- forgetting a person ---------------------------------------------------------------------------------------------
def test_forgetting_a_person_deletes_the_nudges_about_them_and_to_them(env: Env) -> None:
    from shared.privacy.erase import Eraser
    from shared.privacy.forget import ForgetRequest
    from shared.quarantine.store import QuarantineStore

    # Given a nudge about Dev (to Meera), with Meera's day counter and open nudge, then Dev and Meera leaving
    assert env.nudger.nudge(certified('T1'), NOW) is Outcome.PLANNED
    leavers = '\n'.join(line for line in DIRECTORY.splitlines() if not line.startswith(('T1,', 'M2,'))) + '\n'
    DirectoryStore().import_rows(parse_export(leavers, 'csv'), NOW)
    eraser = Eraser(directory=DirectoryStore(), contacts=ContactBook(), alerts=env.alerts, quarantine=QuarantineStore(), nudges=env.store)

    # When each is forgotten (a dry run first)
    dry = eraser.forget(ForgetRequest(employee_id='T1', dry_run=True, quarantine_days=1), 'admin', NOW)
    assert dry.nudges == 1 and env.store.nudge('pitstop', 'T1', 'badge#certified') is not None
    dev = eraser.forget(ForgetRequest(employee_id='T1', quarantine_days=1), 'admin', NOW)
    meera = eraser.forget(ForgetRequest(employee_id='M2', quarantine_days=1), 'admin', NOW)

    # Then Dev's nudge, Meera's day counter and open nudge are gone, and a second run finds nothing
    assert (dev.counts()['recognition_nudges'], meera.counts()['recognition_nudges']) == (1, 2)
    assert env.store.nudge('pitstop', 'T1', 'badge#certified') is None
    assert env.store.open_nudge('M2') is None and env.store.planned_on('pitstop', 'M2', '2026-10-12') == 0
    assert env.store.personal_keys('T1') == [] == env.store.personal_keys('M2')


def test_a_failing_nudge_step_never_fails_the_scorers_batch(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.league_scorer import app

    # Given a nudge step that fails (e.g. the recognition table throttling)
    class Broken:
        def after_scoring(self, *args: Any) -> Any:
            raise RuntimeError('throttled')

    monkeypatch.setattr(app, 'nudger', lambda: Broken())
    entries = env.write(env.entry('T1', 1020))
    result = env.scorer.apply(entries, NOW)

    # When the handler's nudge step runs after the standings are written
    app.nudge(entries, result, NOW)

    # Then nothing is raised (the batch reports no failure) and the standings hold the level
    assert [a.name for a in result.achievements] == ['Pit crew'] and env.nudge_alerts() == []
