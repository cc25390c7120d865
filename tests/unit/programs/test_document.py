"""A program document is validated before it is ever used: each bad input is refused with the field named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.programs.document import ProgramInvalid, parse_program
from shared.programs.kinds import MODULES, REGISTRY

BASE: dict[str, Any] = {
    'program_id': 'pitstop',
    'name': 'Pitstop',
    'time_zone': 'Asia/Kolkata',
    'currency': 'INR',
    'points_per_currency_unit': 1,
    'starts_on': '2026-10-01',
    'effective_from': '2026-10-01T00:00:00+05:30',
    'scope': {'locations': ['IN-BLR-01'], 'roles': ['technician']},
    'rules': [
        {'rule_id': 'ftf', 'kind': 'first_time_fix', 'points': 20},
        {'rule_id': 'zd', 'kind': 'zero_defect', 'points': 30, 'credit': {'advisor': 40, 'technician': 60}},
        {'rule_id': 'upsell', 'kind': 'upsell', 'params': {'mode': 'percent_of_revenue', 'percent': 2}},
    ],
}
CONTEXT = {'locations': {'IN-BLR-01', 'IN-PNQ-01'}, 'roles': {'technician', 'service_advisor', 'support'}}


def with_(path: str, value: Any) -> dict[str, Any]:
    """BASE with one value replaced at a dotted path ('rules.1.caps')."""
    data = json.loads(json.dumps(BASE))
    *parents, last = path.split('.')
    node = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


def errors(data: dict[str, Any], context: dict[str, Any] | None = CONTEXT) -> list[str]:
    with pytest.raises(ProgramInvalid) as refused:
        parse_program(data, context)
    return refused.value.errors


def test_a_good_document_validates_and_compiles_its_rules_by_subject() -> None:
    # When the base document is validated with the known locations and roles
    doc = parse_program(BASE, CONTEXT)

    # Then it is usable: rules indexed by the state kind they earn on, effective time in UTC
    assert [r.rule.rule_id for r in doc.rules_for('job_card')] == ['ftf', 'zd', 'upsell']
    assert [r.rule.rule_id for r in doc.rules_for('ticket')] == ['upsell']
    assert doc.effective_from.isoformat() == '2026-09-30T18:30:00+00:00'
    assert doc.cost(50) == 50.0


@pytest.mark.parametrize(
    ('path', 'value', 'expected'),
    [
        ('rules.0.kind', 'first_time_fixx', "rules.0.kind: unknown rule kind 'first_time_fixx'"),
        ('rules.0.caps', {'day': -5}, 'rules.0.caps.day: must be >= 1'),
        ('rules.0.caps', {'month': 0}, 'rules.0.caps.month: must be >= 1'),
        ('rules.0.multipliers', [{'name': 'q', 'factor': 0, 'input': 'csat'}], 'rules.0.multipliers.0.factor: must be > 0'),
        ('rules.1.credit', {'advisor': 40, 'technician': 50}, 'rules.1.credit: shares must sum to 100 (got 90)'),
        ('rules.1.credit', {'advisor': 0, 'technician': 100}, 'rules.1.credit: the share of advisor must be between 1 and 100'),
        ('rules.1.credit', {'manager': 100}, 'rules.1.credit.manager.[key]'),
        ('scope.locations', ['IN-DEL-09'], 'scope.locations: unknown location IN-DEL-09'),
        ('scope.roles', ['chef'], 'scope.roles: unknown role chef'),
        ('rules.0.conditions', {'roles': ['mechanic']}, 'rules.0.conditions.roles: unknown role mechanic'),
        ('rules.0.conditions', {'locations': ['XX']}, 'rules.0.conditions.locations: unknown location XX'),
        ('pilot', {'locations': ['IN-GOA-02'], 'rollout_on': '2026-11-01'}, 'pilot.locations: unknown location IN-GOA-02'),
        ('pilot', {'locations': [], 'rollout_on': '2026-11-01'}, 'pilot.locations: must have at least 1 item(s)'),
        ('rules.2.params', {'mode': 'percent_of_revenue', 'percent': 150}, 'rules.2.params.percent: must be <= 100'),
        ('rules.2.params', {'mode': 'percent_of_margin'}, 'rules.2.params.percent: required when mode is percent_of_margin'),
        ('rules.2.params', {'mode': 'per_category'}, 'rules.2.params.categories: required'),
        ('rules.2.params', {'mode': 'commission'}, 'rules.2.params.mode:'),
        ('rules.0.params', {'repeat_window': 30}, 'rules.0.params.repeat_window: unknown field'),
        ('rules.0.points', -5, 'rules.0.points: must be >= 0 (the kind first_time_fix awards points'),
        ('rules.0.hold_hours', -1, 'rules.0.hold_hours: must be >= 0'),
        ('rules.0.clawback', {'policy': 'reverse'}, 'rules.0.clawback.within_days: must be >= 1 when the policy is reverse'),
        ('rules.1.rule_id', 'ftf', "rules.1.rule_id: 'ftf' is already the id of rules.0"),
        ('time_zone', 'Asia/Bangalore', "time_zone: unknown time zone 'Asia/Bangalore'"),
        ('currency', 'rupees', 'currency: must match'),
        ('points_per_currency_unit', 0, 'points_per_currency_unit: must be > 0'),
        ('effective_from', '2026-10-01T00:00:00', 'effective_from: must carry a time zone'),
        ('ends_on', '2026-09-01', 'ends_on: must be on or after starts_on (2026-10-01)'),
        ('period', 'weekly', 'period:'),
        ('bonus', 5, 'bonus: unknown field'),
    ],
)
def test_each_bad_input_is_refused_with_the_field_and_the_reason(path: str, value: Any, expected: str) -> None:
    # Given the good document with one bad value
    data = with_(path, value)

    # When it is validated
    found = errors(data)

    # Then one error names that field and why
    assert any(line.startswith(expected) for line in found), found


def test_period_rules_unknown_kpi_and_overlapping_bands_are_named_without_the_union_tag() -> None:
    # Given an accelerator on an unknown KPI and one whose bands overlap
    period_rules = [
        {'rule_id': 'acc', 'kind': 'accelerator', 'kpi': 'happiness', 'bands': [{'min': 95, 'factor': 1.5}], 'applies_to': ['ftf']},
        {'rule_id': 'acc2', 'kind': 'accelerator', 'kpi': 'sla_compliance', 'applies_to': ['ftf'],
         'bands': [{'min': 90, 'max': 96, 'factor': 1.2}, {'min': 95, 'factor': 1.5}]},
    ]

    # When the document is validated
    found = errors(with_('period_rules', period_rules))

    # Then each error names the period rule's field as the document spells it
    assert any(line.startswith("period_rules.0.kpi: unknown KPI 'happiness'") for line in found), found
    assert any(line.startswith('period_rules.1.bands: bands 0 and 1 overlap') for line in found), found


def test_an_accelerator_must_apply_to_event_rules_of_the_same_program() -> None:
    # Given an accelerator over a rule id the program does not have
    period_rules = [{'rule_id': 'acc', 'kind': 'accelerator', 'kpi': 'sla_compliance', 'bands': [{'min': 95, 'factor': 1.5}],
                     'applies_to': ['resolution_within_sla']}]

    # When validated / Then the missing rule is named
    assert errors(with_('period_rules', period_rules)) == ['period_rules.0.applies_to: no event rule resolution_within_sla in this program']


def test_roles_and_locations_are_not_checked_without_a_context() -> None:
    # Given a role and a location no context lists
    data = with_('scope', {'locations': ['ANYWHERE'], 'roles': ['chef']})

    # When validated without a context / Then it is accepted (the loader supplies the context when it knows it)
    assert parse_program(data).scope.roles == ['chef']


def test_a_pilot_outside_the_scope_is_refused() -> None:
    data = with_('pilot', {'locations': ['IN-PNQ-01'], 'rollout_on': '2026-11-01'})
    assert errors(data) == ['pilot.locations: not in the program scope: IN-PNQ-01']


def test_credit_on_a_kind_that_pays_one_person_is_refused() -> None:
    data = with_('rules.0', {'rule_id': 'tr', 'kind': 'training_completion', 'points': 5, 'credit': {'agent': 100}})
    assert errors(data)[0].startswith('rules.0.credit: the kind training_completion pays one person')


def test_penalty_points_may_be_written_either_sign_and_are_deducted() -> None:
    # Given penalties written as 5 and as -5
    doc = parse_program(with_('rules', [{'rule_id': 'a', 'kind': 'reopen', 'points': 5}, {'rule_id': 'b', 'kind': 'reopen', 'points': -5}]))

    # Then both deduct 5
    assert [(r.points, r.sign) for r in doc.rules_for('ticket')] == [(5, -1), (5, -1)]


def test_not_json_and_not_an_object_are_refused_plainly() -> None:
    with pytest.raises(ProgramInvalid, match='not JSON'):
        parse_program('{"program_id": ')
    with pytest.raises(ProgramInvalid, match='must be a JSON object'):
        parse_program('[1, 2]')


def test_every_kind_module_is_registered_under_its_own_name() -> None:
    # The registry is the list of modules: adding a kind is one module and one line
    assert sorted(REGISTRY) == sorted(MODULES)
    assert len(REGISTRY) == 20
    assert {name for name, kind in REGISTRY.items() if kind.penalty} == {'sla_breach', 'reopen', 'repeat_complaint'}
