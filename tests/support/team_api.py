"""The team and admin routes under test: the ORG world (tests/support/people_api.py) with the workshop program in
Parameter Store (scoped to every ORG location, in force since 2020), and callers per role."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from tests.support.local_aws import LocalAws
from tests.support.people_api import LOCATIONS, answer, api_world, claims, people_event

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS_PATH = '/pitcrew/test/programs'
PROGRAM = 'pitstop'

# Callers: a manager of each location, a regional of each region, hq, admin, an advisor, a kiosk device.
MANAGER_BLR1 = claims('manager', employee_id='M-IN-BLR-01', location='IN-BLR-01', region='South')
MANAGER_MUM = claims('manager', employee_id='M-IN-MUM-01', location='IN-MUM-01', region='West')
REGIONAL_SOUTH = claims('regional', region='South')
REGIONAL_WEST = claims('regional', region='West')
HQ = claims('hq', sub='hq-user')
ADMIN = claims('admin', sub='admin-user')
ADVISOR = claims('advisor', employee_id='IN-BLR-01-A', location='IN-BLR-01', region='South')
KIOSK = claims('kiosk', location='IN-BLR-01', sub='kiosk-blr-01')


@contextmanager
def team_world() -> Iterator[LocalAws]:
    """api_world plus the workshop program (spot awards above 300 points wait for approval; the league divides by role
    and region) in Parameter Store."""
    from shared.config import get_settings
    from shared.programs.loader import clear_cache

    with api_world() as aws:
        document = json.loads((ROOT / 'events' / 'program_workshop.json').read_text())
        document['effective_from'] = '2020-01-01T00:00:00+05:30'
        document['scope']['locations'] = sorted(LOCATIONS)
        boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION']).put_parameter(
            Name=f'{PROGRAMS_PATH}/{PROGRAM}', Value=json.dumps(document), Type='String'
        )
        old = os.environ.get('PROGRAMS_PATH')
        os.environ['PROGRAMS_PATH'] = PROGRAMS_PATH
        get_settings.cache_clear()
        clear_cache()
        try:
            yield aws
        finally:
            clear_cache()
            if old is None:
                os.environ.pop('PROGRAMS_PATH', None)
            else:
                os.environ['PROGRAMS_PATH'] = old
            get_settings.cache_clear()


def _call(module: str, method: str, path: str, who: dict[str, str] | None, *, route: str | None = None,
          query: dict[str, str] | None = None, body: Any = None, key: str | None = None,
          params: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
    """One request through a function's handler, with the caller's claims and an Idempotency-Key when given."""
    import importlib

    from tests.support.apigw import lambda_context

    headers = {'Idempotency-Key': key} if key else None
    event = people_event(method, path, claims=who, route=route, query=query, body=body, headers=headers, path_parameters=params)
    return answer(importlib.import_module(module).lambda_handler(event, lambda_context()))


def call_team(method: str, path: str, who: dict[str, str] | None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    return _call('functions.api_team.app', method, path, who, **kwargs)


def call_admin(method: str, path: str, who: dict[str, str] | None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    return _call('functions.api_admin.app', method, path, who, **kwargs)


def seed_dispute(employee_id: str, reason: str = 'Recount of the survey bonus', points: int = -20) -> str:
    """An open dispute filed through the use cases: an adjustment writes the entry, the employee disputes its code."""
    from shared.directory.store import DirectoryStore
    from shared.disputes.model import entry_code
    from shared.disputes.service import Disputes
    from shared.disputes.store import DisputeStore
    from shared.ledger.adjustments import AdjustmentRequest, submit_adjustment
    from shared.ledger.approval_store import ApprovalStore
    from shared.ledger.approvals import Actor
    from shared.ledger.store import LedgerStore

    now = datetime.now(UTC)
    seed = f'seed-{employee_id}-{abs(hash(reason)) % 10**6}'
    written: dict[str, object] = {}
    for suffix, amount in (('credit', 50), ('debit', points)):  # a credit first, so the disputed debit is covered
        adjustment = AdjustmentRequest(adjustment_id=f'{seed}-{suffix}', employee_id=employee_id, points=amount, reason=reason)
        written = submit_adjustment(adjustment, maker=Actor(via='console', reference='seed'), ledger=LedgerStore(),
                                    directory=DirectoryStore(), approvals=ApprovalStore(), approval_above=10_000, now=now)  # fmt: skip
    dispute = Disputes(DisputeStore(), DirectoryStore()).file(employee_id, entry_code(str(written['entry_id'])), 'the survey was mine',
                                                              'api', now)  # fmt: skip
    return dispute.dispute_id


def seed_spot_request(manager_id: str, employee_id: str, key: str, points: int = 500) -> str:
    """A spot award above the approval amount, requested through the use case (waits for an approver)."""
    from shared.ledger.approvals import Actor
    from shared.recognition.spot import SpotRequest
    from shared.recognition.spot_service import SpotAwards

    request = SpotRequest(program_id=PROGRAM, manager_id=manager_id, employee_id=employee_id, points=points,
                          reason_id='zero_defect_repair', message='clean job', idempotency_key=key)  # fmt: skip
    result = SpotAwards.default().award(request, Actor(via='console', reference='seed'), datetime.now(UTC))
    assert result.status.value == 'requested', result
    return result.award_id


def seed_kpis(scope: str, month: str, counters: dict[str, int], channel: str | None = None) -> None:
    """A KPI aggregate item as the aggregator keeps it (a day item, or a day-channel split)."""
    table = os.environ['KPI_TABLE']
    sk = f'{month}-01' + (f'#{channel}' if channel else '')
    item = {'pk': {'S': scope}, 'sk': {'S': sk}, **{name: {'N': str(value)} for name, value in counters.items()}}
    boto3.client('dynamodb', region_name=os.environ['AWS_DEFAULT_REGION']).put_item(TableName=table, Item=item)


def seed_flag(giver: str, receiver: str, manager: str, month: str | None = None) -> str:
    """A reciprocal collusion flag between two people of one manager, kept as the flags run keeps it."""
    from shared.recognition.collusion import CollusionFlag, Evidence, FlagKind, Link
    from shared.recognition.flag_store import FlagStore

    now = datetime.now(UTC)
    month = month or now.strftime('%Y-%m')
    members = tuple(sorted((giver, receiver)))
    links = (Link(giver, receiver, 80, 0.8, 4), Link(receiver, giver, 75, 0.75, 4))
    evidence = (Evidence('rec-1', giver, receiver, 20, now, 0.2),)
    flag = CollusionFlag(kind=FlagKind.RECIPROCAL, month=month, members=members, links=links, evidence=evidence, recognitions=8,
                         managers=(manager,), notices=())  # fmt: skip
    assert FlagStore().raise_flag(PROGRAM, flag, {}, now) == 'raised'
    return flag.key
