"""Verify with the source: the real HTTP adapters against the local fakes of Freshdesk, Gorgias and Salesforce
(over a local socket), and the ticket processor that asks them before it awards points (tables on moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from infrastructure.local.fake_helpdesks import FakeHelpdesks, FakeTicket
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Source, Status
from shared.ledger.store import LedgerStore
from shared.tickets.processing import Outcome, TicketProcessor
from shared.tickets.store import TicketStore
from shared.verify import get_api_adapter
from shared.verify.base import ApiCredentials, SourceApiUnavailable
from shared.verify.http import TokenBucket
from shared.verify.service import SourceVerification, SsmCredentialsProvider
from shared.verify.settings import SourceSettings
from tests.support.factories import DIRECTORY_CSV, T0, ticket_event
from tests.support.local_aws import local_aws

NOW = datetime(2024, 5, 20, tzinfo=UTC)
FAST = SourceSettings(verify='source_api', requests_per_minute=60_000, burst=1_000)
SF_CASE, SF_OWNER = '500000000100001AAA', '005000000000001AAA'


class MemoryCredentials:
    def __init__(self, fake: FakeHelpdesks) -> None:
        self.values = fake.credentials()

    def get(self, source: str) -> ApiCredentials:
        return ApiCredentials.model_validate(self.values[source])


@pytest.fixture()
def fake() -> Iterator[FakeHelpdesks]:
    helpdesks = FakeHelpdesks().start()
    replied, solved = T0 + timedelta(minutes=25), T0 + timedelta(minutes=90)
    helpdesks.put('freshdesk', FakeTicket('501', 'agent1@example.com', 'solved', T0, replied, solved, 'normal', 'email', agent_id=7001))
    helpdesks.put('gorgias', FakeTicket('601', 'agent1@example.com', 'solved', T0, replied, solved, 'normal', 'chat', agent_id=8001))
    helpdesks.put('salesforce', FakeTicket(SF_CASE, SF_OWNER, 'solved', T0, replied, solved, 'normal', 'Email'))
    yield helpdesks
    helpdesks.stop()


def verification(fake: FakeHelpdesks, settings: SourceSettings = FAST) -> SourceVerification:
    return SourceVerification(MemoryCredentials(fake), lambda: dict.fromkeys(('freshdesk', 'gorgias', 'salesforce'), settings))


@pytest.mark.parametrize(('source', 'ticket_id', 'agent'), [
    ('freshdesk', '501', 'agent1@example.com'), ('gorgias', '601', 'agent1@example.com'), ('salesforce', SF_CASE, SF_OWNER.lower()),
])
def test_each_api_reports_the_first_agent_reply_assignee_and_resolution(fake: FakeHelpdesks, source: str, ticket_id: str,
                                                                         agent: str) -> None:
    # Given a solved ticket the helpdesk knows, first replied to 25 minutes after it was opened
    client = verification(fake).client(source, FAST)

    # When the source's adapter fetches it through the HTTP API
    truth = get_api_adapter(source).fetch(ticket_id, client)

    # Then the API's first agent reply, assignee and resolution come back in canonical terms
    assert truth is not None
    assert truth.first_response_at == T0 + timedelta(minutes=25)
    assert agent in truth.assignee_keys
    assert truth.status is not None and truth.status.is_resolved and truth.resolved_at == T0 + timedelta(minutes=90)


@pytest.mark.parametrize(('source', 'ticket_id'), [('freshdesk', '999'), ('gorgias', '999'), ('salesforce', '500000000999999AAA'),
                                                   ('freshdesk', '../agents/7001'), ('salesforce', "500' OR Id != '")])
def test_a_ticket_the_helpdesk_does_not_know_is_none(fake: FakeHelpdesks, source: str, ticket_id: str) -> None:
    # Given ids the helpdesk has never issued (and ids that are not ids at all)
    # When the adapter asks for them
    truth = get_api_adapter(source).fetch(ticket_id, verification(fake).client(source, FAST))
    # Then there is no ticket, and nothing malformed was sent to the API
    assert truth is None
    assert all('..' not in path and "'" not in path for _, path in fake.requests)


def test_forged_claims_are_rejected_with_their_reason(fake: FakeHelpdesks) -> None:
    # Given webhook events with a valid token: an unknown ticket, a known ticket claimed for another agent, and a
    # known open ticket claimed as solved
    verifier = verification(fake)
    fake.put('freshdesk', FakeTicket('502', 'agent1@example.com', 'open', T0, None, None, agent_id=7001))
    unknown = ticket_event('777', status=Status.SOLVED, source=Source.FRESHDESK)
    other_agent = ticket_event('501', status=Status.SOLVED, source=Source.FRESHDESK, agent='agent2@example.com')
    not_solved = ticket_event('502', status=Status.SOLVED, source=Source.FRESHDESK)

    # When each is verified
    verdicts = [verifier.verify(event, NOW) for event in (unknown, other_agent, not_solved)]

    # Then each is rejected, and the reason says why
    assert [verdict.code for verdict in verdicts] == ['not_found', 'assignee_mismatch', 'not_resolved']
    assert all(verdict.event is None and verdict.reason for verdict in verdicts)


def test_a_confirmed_event_carries_the_apis_facts(fake: FakeHelpdesks) -> None:
    # Given a Gorgias webhook (which carries no first reply) claiming a fast resolution the API does not report
    event = ticket_event('601', 1, status=Status.SOLVED, source=Source.GORGIAS, minutes=90, resolved_at=T0 + timedelta(minutes=1))

    # When it is verified
    verdict = verification(fake).verify(event, NOW)

    # Then it goes on with the API's first reply and resolution time, and keeps its own id and time
    assert verdict.event is not None
    assert verdict.event.first_response_at == T0 + timedelta(minutes=25)
    assert verdict.event.resolved_at == T0 + timedelta(minutes=90)
    assert (verdict.event.event_id, verdict.event.occurred_at) == (event.event_id, event.occurred_at)


def test_a_429_honours_retry_after_and_a_5xx_goes_back_to_the_queue(fake: FakeHelpdesks) -> None:
    # Given a helpdesk that rate-limits the next request for 7 s, then fails with a 503
    verifier = verification(fake)
    fake.fail_next('gorgias', 429, retry_after=7)
    fake.fail_next('gorgias', 503)
    event = ticket_event('601', status=Status.SOLVED, source=Source.GORGIAS)

    # When the event is verified
    with pytest.raises(SourceApiUnavailable) as limited:
        verifier.verify(event, NOW)

    # Then the vendor's wait is passed on, and the bucket holds further requests until then (no request is sent)
    assert limited.value.retry_after == 7
    sent = fake.count('gorgias')
    with pytest.raises(SourceApiUnavailable) as held:
        verifier.verify(event, NOW)
    assert held.value.retry_after is not None and held.value.retry_after > 5 and fake.count('gorgias') == sent
    # And once the wait is over, a 5xx is also a "try again later", not a verdict
    verifier._buckets['gorgias'].paused_until = 0
    with pytest.raises(SourceApiUnavailable, match='503'):
        verifier.verify(event, NOW)


def test_the_token_bucket_paces_requests_to_the_vendor_rate() -> None:
    # Given a bucket of 2 requests a second with a burst of 2, on a fake clock
    clock = [0.0]
    waits: list[float] = []
    bucket = TokenBucket(2, 2, clock=lambda: clock[0], sleep=waits.append)

    # When 4 requests are taken at once
    for _ in range(4):
        bucket.take(max_wait=5)

    # Then the first two pass, and the next two wait 0.5 s and 1 s
    assert waits == [0.5, 1.0]
    # And a wait longer than allowed is refused with the wait needed (the event goes back to the queue)
    with pytest.raises(SourceApiUnavailable) as refused:
        bucket.take(max_wait=0.1)
    assert refused.value.retry_after == pytest.approx(1.5)


def test_salesforce_mints_a_token_with_client_credentials_and_again_after_a_401(fake: FakeHelpdesks) -> None:
    # Given the client-credentials setup, and a token the API stops accepting once
    verifier = verification(fake)
    event = ticket_event(SF_CASE, status=Status.SOLVED, source=Source.SALESFORCE, agent=SF_OWNER)
    assert verifier.verify(event, NOW).event is not None
    fake.fail_next('salesforce', 401)

    # When the next event is verified
    verdict = verifier.verify(event, NOW)

    # Then a new token was minted and the event confirmed
    assert verdict.event is not None
    assert [path for _, path in fake.requests].count('/services/oauth2/token') == 2


def test_a_stale_event_is_rejected_unless_an_admin_replays_it(fake: FakeHelpdesks) -> None:
    # Given a one-hour freshness window and an event whose own time is two hours old
    verifier = verification(fake, FAST.model_copy(update={'max_event_age_s': 3600}))
    event = ticket_event('501', status=Status.SOLVED, source=Source.FRESHDESK, minutes=90)
    now = event.occurred_at + timedelta(hours=2)

    # When it is verified, and again as an admin's replay
    verdict, replayed = verifier.verify(event, now), verifier.verify(event, now, check_freshness=False)

    # Then the live one is refused as stale (saying how old and the window), the replay is confirmed by the source
    assert verdict.code == 'stale_event' and '7200 s old' in (verdict.reason or '') and '3600 s' in (verdict.reason or '')
    assert replayed.event is not None


def test_credentials_come_from_a_securestring_parameter(fake: FakeHelpdesks) -> None:
    # Given the Freshdesk API credentials stored as a SecureString under the source-API prefix
    with local_aws():
        boto3.client('ssm').put_parameter(Name='/pitcrew/test/source-api/freshdesk', Type='SecureString',
                                          Value=json.dumps(fake.credentials()['freshdesk']))
        provider = SsmCredentialsProvider(prefix='/pitcrew/test/source-api', max_age_s=0)

        # When they are read, and a source without a parameter is asked for
        credentials = provider.get('freshdesk')
        with pytest.raises(SourceApiUnavailable) as missing:
            provider.get('gorgias')

    # Then the stored values are used, and the missing parameter is named without any secret
    assert credentials.api_key == fake.credentials()['freshdesk']['api_key']
    assert 'gorgias' in missing.value.reason and 'no such parameter' in missing.value.reason


@pytest.fixture()
def processor(fake: FakeHelpdesks) -> Iterator[TicketProcessor]:
    with local_aws():
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), NOW)
        yield TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore(), verifier=verification(fake))


def test_a_forged_ticket_earns_nothing_and_a_genuine_one_earns_with_the_apis_first_reply(processor: TicketProcessor,
                                                                                          fake: FakeHelpdesks) -> None:
    # Given verify mode on for Freshdesk; a forged ticket (valid token, unknown to Freshdesk) claimed solved for E1,
    # and the genuine ticket 501 (E1's, first reply after 25 min, solved after 90 min)
    forged = [ticket_event(f'9{n:03d}', n, status=Status.SOLVED, source=Source.FRESHDESK, minutes=30) for n in range(5)]
    genuine = [ticket_event('501', 0, source=Source.FRESHDESK), ticket_event('501', 1, status=Status.SOLVED, source=Source.FRESHDESK,
                                                                             minutes=90)]

    # When all are processed, and the hold windows pass
    results = [processor.apply(event, NOW) for event in forged + genuine]
    for key in {event.ticket_key for event in forged + genuine}:
        processor.release(key, NOW + timedelta(days=30))

    # Then the forged events are rejected with their reason and nothing of them is stored
    assert [r.outcome for r in results[:5]] == [Outcome.REJECTED] * 5
    assert all((r.reason or '').startswith('not_found') for r in results[:5])
    assert all(processor.tickets.get(event.ticket_key) is None for event in forged)
    # And the genuine ticket earned E1 its points, with the first response the API reported
    entries = processor.ledger.entries_for('E1')
    assert entries and {entry.reason.ticket_key for entry in entries} == {'freshdesk#501'}
    assert 'first_response_within_sla' in {entry.reason.rule_id for entry in entries}  # the API's first reply earned it
    stored = processor.tickets.get('freshdesk#501')
    assert stored is not None and min(e.first_response_at for e in stored.events if e.first_response_at) == T0 + timedelta(minutes=25)
    # And a redelivery of a confirmed event is a duplicate without asking the API again
    asked = fake.count('freshdesk')
    assert processor.apply(genuine[1], NOW).outcome is Outcome.DUPLICATE and fake.count('freshdesk') == asked


def test_the_processor_function_quarantines_what_the_source_does_not_confirm_and_delays_to_retry_after(
        fake: FakeHelpdesks, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.ticket_processor import app
    from shared.config import get_settings
    from shared.events import QueueMessage
    from shared.quarantine.store import QuarantineStore
    from tests.support.apigw import lambda_context, sqs_event

    with local_aws() as aws:
        # Given verify mode on for Freshdesk in the service configuration, and its API credentials in SSM
        ssm = boto3.client('ssm')
        ssm.put_parameter(Name='/pitcrew/test/service-config', Type='String',
                          Value=json.dumps({'sources': {'freshdesk': FAST.model_dump()}}))
        ssm.put_parameter(Name='/pitcrew/test/source-api/freshdesk', Type='SecureString', Value=json.dumps(fake.credentials()['freshdesk']))
        monkeypatch.setenv('SERVICE_CONFIG_PARAMETER', '/pitcrew/test/service-config')
        monkeypatch.setenv('SOURCE_API_PREFIX', '/pitcrew/test/source-api')
        get_settings.cache_clear()
        monkeypatch.setattr(app, '_processor', None)
        monkeypatch.setattr(app, '_quarantine', None)
        forged = ticket_event('8888', status=Status.SOLVED, source=Source.FRESHDESK)
        aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody=QueueMessage(event=forged).model_dump_json(exclude_none=True))

        # When the processor function takes it from the queue
        result = app.lambda_handler(sqs_event(aws.drain()), lambda_context())

        # Then it succeeds (nothing to retry), awards nothing, and the quarantine keeps it with the reason, replayable
        assert result == {'batchItemFailures': []}
        assert aws.dynamodb.scan(TableName=get_settings().LEDGER_TABLE)['Count'] == 0
        [item] = boto3.client('dynamodb').scan(TableName=get_settings().QUARANTINE_TABLE)['Items']
        kept = QuarantineStore().get(item['pk']['S'])
        assert kept is not None and kept.reason.startswith('verification: not_found')
        assert kept.event is not None and QueueMessage.model_validate_json(kept.event).skip_freshness is True

        # And when the helpdesk answers 429 with Retry-After, the message fails back to the queue (nothing is lost)
        fake.fail_next('freshdesk', 429, retry_after=30)
        genuine = ticket_event('501', status=Status.SOLVED, source=Source.FRESHDESK, minutes=90)
        aws.sqs.send_message(QueueUrl=aws.queue_url, MessageBody=QueueMessage(event=genuine).model_dump_json(exclude_none=True))
        messages = aws.drain()
        failed = app.lambda_handler(sqs_event(messages), lambda_context())
        assert failed == {'batchItemFailures': [{'itemIdentifier': messages[0]['MessageId']}]}
    get_settings.cache_clear()
