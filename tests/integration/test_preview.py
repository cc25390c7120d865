"""The what-if preview over stored tickets (moto): a candidate that changes one rule's points shows the difference
on that rule only, per location and role, with its cost at the program's conversion rate; the month is the
program's; caps apply as the release would; the local command reads the current program from SSM and prints the
same figures, and refuses an invalid candidate with the field named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.events import Assignee, Status
from shared.ledger.store import LedgerStore
from shared.programs.document import ProgramDocument, parse_program
from shared.programs.loader import ProgramBook
from shared.programs.preview import Preview, PreviewRow
from shared.tickets.processing import TicketProcessor
from shared.tickets.store import TicketStore
from tests.support.factories import DIRECTORY_CSV, job_card_event, ticket_event, ticket_history
from tests.support.local_aws import LocalAws, local_aws

WRITTEN = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)
JUNE = datetime(2024, 6, 4, 12, 0, tzinfo=UTC)  # when June's ticket was written


def document(resolved_points: int = 10, rate: float = 10, **resolved: Any) -> dict[str, Any]:
    return {
        'program_id': 'support', 'name': 'Support and workshop', 'time_zone': 'UTC', 'currency': 'USD',
        'points_per_currency_unit': rate, 'starts_on': '2024-01-01', 'effective_from': '2024-01-01T00:00:00Z',
        'rules': [
            {'rule_id': 'resolved_within_sla', 'version': 1, 'kind': 'resolution_within_sla', 'points': resolved_points, **resolved},
            {'rule_id': 'job_card_on_time', 'version': 1, 'kind': 'on_time_delivery', 'points': 20},
        ],
    }


def program(**kwargs: Any) -> ProgramDocument:
    return parse_program(document(**kwargs))


@pytest.fixture()
def aws() -> Iterator[LocalAws]:
    with local_aws() as local:
        directory = DirectoryStore()
        directory.import_rows(parse_export(DIRECTORY_CSV, 'csv'), WRITTEN)
        processor = TicketProcessor(tickets=TicketStore(), directory=directory, ledger=LedgerStore())
        # May: E1 resolves 1001 and 1003 within SLA, E2 resolves 1002; advisor E3 delivers JC-1 on time.
        # June: E2 resolves T-1 (another month).
        for event in [
            ticket_event('1001', 0, status=Status.SOLVED, minutes=30),
            ticket_event('1002', 0, status=Status.SOLVED, minutes=45, agent='agent2@example.com'),
            ticket_event('1003', 0, status=Status.SOLVED, minutes=50),
            job_card_event('JC-1', 0, Status.OPEN, minutes=0), job_card_event('JC-1', 1, Status.CLOSED, minutes=180),
        ]:
            processor.apply(event, WRITTEN)
        june_3 = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
        for event in ticket_history(june_3, (june_3 + timedelta(minutes=30), {'status': Status.SOLVED}),
                                    assignees=(Assignee(agent_key='agent2@example.com'),)):
            processor.apply(event, JUNE)
        yield local


def run(book: ProgramBook, candidate: ProgramDocument, month: str = '2024-05') -> Preview:
    from infrastructure.preview import run_preview

    result: Preview = run_preview(candidate.model_dump_json(), month, book)
    return result


def rows(result: Preview) -> dict[tuple[str, str, str], PreviewRow]:
    return {(r.location_id, r.role, r.rule_id): r for r in result.rows}


def test_a_candidate_that_changes_one_rule_differs_on_that_rule_only(aws: LocalAws) -> None:
    # Given the current program (resolution 10 points, on-time delivery 20, 10 points per USD) and a candidate paying
    # 15 points per resolution at 5 points per USD
    current = ProgramBook.of(program())
    # When the candidate is previewed over May's stored tickets
    result = run(current, program(resolved_points=15, rate=5))
    # Then the agents' resolutions (3 in May, June's left out) go from 30 to 45 points, from 3.00 to 9.00 USD
    by_key = rows(result)
    agents = by_key[('US-NYC', 'agent', 'resolved_within_sla')]
    assert (agents.current_points, agents.candidate_points, agents.difference) == (30, 45, 15)
    assert (agents.current_awards, agents.candidate_awards) == (3, 3)
    assert (agents.current_cost, agents.candidate_cost) == pytest.approx((3.0, 9.0))
    # And the advisor's on-time delivery keeps its points; its cost follows the candidate's rate
    advisor = by_key[('IN-BLR-01', 'service_advisor', 'job_card_on_time')]
    assert (advisor.current_points, advisor.candidate_points, advisor.difference) == (20, 20, 0)
    assert (advisor.current_cost, advisor.candidate_cost) == pytest.approx((2.0, 4.0))
    assert set(by_key) == {('US-NYC', 'agent', 'resolved_within_sla'), ('IN-BLR-01', 'service_advisor', 'job_card_on_time')}
    # And the subtotals and the total add up, with the versions compared named
    total = result.total()
    assert (total.current_points, total.candidate_points, total.difference) == (50, 65, 15)
    assert total.cost_difference == pytest.approx(8.0)
    assert {r.rule_id: r.difference for r in result.by('rule_id')} == {'resolved_within_sla': 15, 'job_card_on_time': 0}
    assert {r.location_id: r.difference for r in result.by('location_id')} == {'US-NYC': 15, 'IN-BLR-01': 0}
    assert result.current_versions == ['support@1'] and result.candidate_version == 'support@2 (candidate)'
    text = result.to_text()
    assert 'would change the month by +15 points, +8.00 USD' in text
    assert json.loads(json.dumps(result.as_dict()))['total']['difference'] == 15


def test_the_month_is_the_programs_and_caps_apply(aws: LocalAws) -> None:
    # Given a candidate capping resolutions at 15 points a day per person (E1 resolved two tickets on May 14)
    capped = program(caps={'day': 15})
    # When previewing May, then June
    may, june = run(ProgramBook.of(program()), capped), run(ProgramBook.of(program()), capped, '2024-06')
    # Then in May E1's 20 points are cut to 15 (E2 keeps 10): 30 -> 25
    agents = rows(may)[('US-NYC', 'agent', 'resolved_within_sla')]
    assert (agents.current_points, agents.candidate_points) == (30, 25)
    # And June holds only ticket 1004 (E2, 10 points under both)
    assert [(r.rule_id, r.current_points, r.candidate_points) for r in june.rows] == [('resolved_within_sla', 10, 10)]


def test_the_command_reads_the_current_program_from_ssm_and_prints_the_preview(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the current program in SSM and a candidate file paying 15 per resolution
    from shared.config import get_settings
    from shared.programs.loader import clear_cache

    boto3.client('ssm', region_name='us-east-1').put_parameter(Name='/pitcrew/test/programs/support', Value=json.dumps(document()),
                                                               Type='String')
    for name, value in (('PROGRAMS_PATH', '/pitcrew/test/programs'), ('POWERTOOLS_METRICS_DISABLED', 'true'),
                        ('POWERTOOLS_LOG_LEVEL', 'WARNING'), ('AWS_REGION', 'us-east-1'), ('AWS_DEFAULT_REGION', 'us-east-1')):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    clear_cache()
    candidate = tmp_path / 'candidate.json'
    candidate.write_text(json.dumps(document(resolved_points=15)))
    from infrastructure.preview import main

    # When the command runs, as JSON
    code = main(['--program', str(candidate), '--month', '2024-05', '--json'])
    # Then it prints the per-rule differences against the SSM version
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out['current_versions'] == ['support@1'] and out['candidate_version'] == 'support@2 (candidate)'
    assert {r['rule_id']: r['difference'] for r in out['by_rule']} == {'resolved_within_sla': 15, 'job_card_on_time': 0}
    assert out['total']['cost_difference'] == 1.5

    # When the candidate is invalid (a cap of 0)
    candidate.write_text(json.dumps(document(caps={'day': 0})))
    code = main(['--program', str(candidate), '--month', '2024-05'])
    # Then it is refused with the field named
    err = capsys.readouterr().err
    assert code == 2 and 'rules.0.caps.day' in err
    clear_cache()
    monkeypatch.undo()
    get_settings.cache_clear()
