"""The people-facing API's own routes under test, configured as deployed: the ORG directory (tests/support/people_api.py),
the workshop program and catalogue in SSM, the fulfilment queue, the fake provider; ledger entries appended the way the
ledger writes them (with the balance item they add up to), the live standings scored by the real league scorer from the
ledger's stream, and a clock the resolver reads (so a test steps past a lock or an idle timeout without sleeping)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared.ledger.entries import EntryKind, EntryReason, EntryStatus, LedgerEntry
from tests.support.apigw import lambda_context
from tests.support.local_aws import LocalAws
from tests.support.people_api import answer, api_world, people_event

EVENTS = Path(__file__).resolve().parents[2] / 'events'
PROGRAMS_PATH = '/pitcrew/test/programs'
CATALOGUES_PATH = '/pitcrew/test/catalogues'


@dataclass
class World:
    aws: LocalAws
    clock: list[datetime]
    stream_position: int = 0
    counter: list[int] = field(default_factory=lambda: [0])

    # --- time ------------------------------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.clock[0]

    def set_now(self, now: datetime) -> None:
        self.clock[0] = now

    # --- the ledger --------------------------------------------------------------------------------------------------
    def entry(self, employee_id: str, amount: int, at: datetime, *, rule: str = 'first_time_fix',
              kind: EntryKind = EntryKind.AWARD, program: str = 'pitstop@1') -> LedgerEntry:  # fmt: skip
        self.counter[0] += 1
        reason = EntryReason(ticket_key=f'dms#JC-{self.counter[0]}', source_event_id='release', basis_event_id='delivery', rule_id=rule,
                             rule_version=1, program_id=program, inputs={'job_cards': 1})  # fmt: skip
        return LedgerEntry(entry_id=f'E{self.counter[0]:031d}', employee_id=employee_id, amount=amount, kind=kind,
                           status=EntryStatus.AVAILABLE, reason=reason, occurred_at=at, recorded_at=at)  # fmt: skip

    def write(self, *entries: LedgerEntry) -> list[LedgerEntry]:
        """Append entries as the ledger writes them, and add them to the person's balance item."""
        for entry in entries:
            self.aws.dynamodb.put_item(TableName=os.environ['LEDGER_TABLE'], Item={
                'pk': {'S': f'EMP#{entry.employee_id}'}, 'sk': {'S': f'ENTRY#{entry.entry_id}'}, 'entry': {'S': entry.model_dump_json()},
                'amount': {'N': str(entry.amount)}, 'kind': {'S': entry.kind.value}, 'period': {'S': entry.period},
                'recorded_at': {'S': entry.recorded_at.isoformat()}}, ConditionExpression='attribute_not_exists(pk)')  # fmt: skip
            self.aws.dynamodb.update_item(TableName=os.environ['BALANCES_TABLE'], Key={'pk': {'S': f'EMP#{entry.employee_id}'}},
                                          UpdateExpression='ADD available :a',
                                          ExpressionAttributeValues={':a': {'N': str(entry.amount)}})  # fmt: skip
        return list(entries)

    def score(self) -> Any:
        """Run the league scorer on the ledger stream's new records (as the LeagueScorer function does)."""
        from moto.dynamodb.models import dynamodb_backends

        from shared.leagues.live import parse_record
        from shared.leagues.live_store import LiveStore
        from shared.leagues.scorer import LeagueScorer, leagues_of
        from shared.programs.loader import load_programs

        shard = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']].get_table(os.environ['LEDGER_TABLE']).stream_shard
        assert shard is not None
        records = [item.to_json() for item in shard.items[self.stream_position :]]
        self.stream_position += len(records)
        entries = [parsed for parsed in map(parse_record, records) if parsed is not None]
        book = load_programs()
        return LeagueScorer(LiveStore(), None, leagues=lambda: leagues_of(book, self.now)).apply(entries, self.now)

    def job_cards(self, employee_id: str, month: str, n: int) -> None:
        """The KPI month item the league's workload (job cards) is read from."""
        self.aws.dynamodb.put_item(TableName=os.environ['KPI_TABLE'], Item={'pk': {'S': f'employee#{employee_id}'}, 'sk': {'S': month},
                                                                         'j': {'N': str(n)}, 't': {'N': '0'}})  # fmt: skip


@contextmanager
def people_world(monkeypatch: pytest.MonkeyPatch, now: datetime) -> Iterator[World]:
    """api_world with the workshop program and catalogue in SSM, the fulfilment queue, the fake provider and a clock."""
    from shared.api import http
    from shared.config import get_settings
    from shared.programs import loader
    from shared.wallet import catalogue_loader, providers
    from shared.wallet.providers.fake import FakeProvider

    monkeypatch.setenv('PROGRAMS_PATH', PROGRAMS_PATH)
    monkeypatch.setenv('CATALOGUES_PATH', CATALOGUES_PATH)
    clock = [now]
    monkeypatch.setattr(http, 'clock', lambda: clock[0])
    with api_world() as aws:
        monkeypatch.setenv('REDEMPTIONS_QUEUE_URL', aws.queues['RedemptionsQueue'])
        get_settings.cache_clear()
        ssm = boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION'])
        program = json.loads((EVENTS / 'program_workshop.json').read_text())
        ssm.put_parameter(Name=f'{PROGRAMS_PATH}/pitstop', Value=json.dumps(program), Type='String')
        # A second program nobody of ORG is in (US/UK support agents): "another program" for the scope tests.
        ssm.put_parameter(Name=f'{PROGRAMS_PATH}/ecommerce_support', Value=(EVENTS / 'program_support.json').read_text(), Type='String')
        ssm.put_parameter(Name=f'{CATALOGUES_PATH}/pitstop', Value=(EVENTS / 'catalogue_workshop.json').read_text(), Type='String')
        loader.clear_cache()
        catalogue_loader.clear_cache()
        providers.use('fake', FakeProvider())
        try:
            yield World(aws, clock)
        finally:
            loader.clear_cache()
            catalogue_loader.clear_cache()
            providers.reset()
            get_settings.cache_clear()


def call(module: Any, method: str, path: str, claims: dict[str, str] | None, *, route: str | None = None,
         query: dict[str, str] | None = None, body: Any = None, headers: dict[str, str] | None = None,
         path_parameters: dict[str, str] | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:  # fmt: skip
    """One request through a function's handler: (status, JSON body, headers)."""
    event = people_event(method, path, claims=claims, route=route, query=query, body=body, headers=headers, path_parameters=path_parameters)
    result = module.lambda_handler(event, lambda_context())
    status, payload = answer(result)
    found = {k.lower(): v for k, v in (result.get('headers') or {}).items()}
    for name, values in (result.get('multiValueHeaders') or {}).items():
        found.setdefault(name.lower(), values[0] if values else '')
    return status, payload, found
