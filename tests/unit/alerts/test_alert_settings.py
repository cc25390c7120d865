"""The `alerts` section of the service configuration: approved WhatsApp templates, checkpoint rules, reminders,
as an admin writes them and as they are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from shared.alerts.plan import AlertKind, AlertRules, Escalation, Recipient
from shared.alerts.quiet_hours import QuietHours
from shared.alerts.settings import AlertSettings, ReminderSettings
from shared.sla.config import ServiceConfig, parse_config

SID_EN = 'HX' + '0123456789abcdef' * 2
SID_ES = 'HX' + 'FEDCBA9876543210' * 2


def test_a_template_sid_must_be_hx_and_32_hex_digits() -> None:
    # Given templates whose SIDs are too short, not hex, too long, or with the wrong prefix
    for bad in ('HX123', 'HX' + 'g' * 32, SID_EN + '0', 'MG' + '0' * 32, 'hx' + '0' * 32):
        # When the settings are built, then they are refused naming the kind and the language
        with pytest.raises(ValidationError) as refused:
            AlertSettings.model_validate({'whatsapp_templates': {'sla_breach': {'es': bad}}})
        message = str(refused.value)
        assert 'sla_breach.es' in message
        assert 'Content SID' in message


def test_a_template_language_must_be_one_pitcrew_speaks() -> None:
    # Given a template for French, which Pitcrew has no texts for
    with pytest.raises(ValidationError) as refused:
        AlertSettings.model_validate({'whatsapp_templates': {'sla_risk': {'fr': SID_EN}}})

    # Then it is refused naming the kind, the language and the languages allowed
    message = str(refused.value)
    assert 'sla_risk.fr' in message
    assert 'en, es, hi, id' in message


def test_an_indonesian_template_is_accepted_and_used_for_indonesian_readers() -> None:
    # Given breach templates approved in English and Indonesian
    settings = AlertSettings.model_validate({'whatsapp_templates': {'sla_breach': {'en': SID_EN, 'id': SID_ES}}})

    # Then an Indonesian reader gets the Indonesian one, a Hindi reader the English one
    assert settings.template(AlertKind.SLA_BREACH, 'id') == SID_ES
    assert settings.template(AlertKind.SLA_BREACH, 'hi') == SID_EN


def test_a_template_for_an_unknown_alert_kind_is_refused() -> None:
    # Given a template keyed by a kind that does not exist, then it is refused
    with pytest.raises(ValidationError):
        AlertSettings.model_validate({'whatsapp_templates': {'sla_bogus': {'en': SID_EN}}})


def test_the_template_falls_back_to_english() -> None:
    # Given breach templates in English and Spanish, and none for the risk alert
    settings = AlertSettings.model_validate({'whatsapp_templates': {'sla_breach': {'en': SID_EN, 'es': SID_ES}}})

    # When templates are looked up
    # Then Spanish has its own, Hindi falls back to English, and the risk alert has none (SMS instead)
    assert settings.template(AlertKind.SLA_BREACH, 'es') == SID_ES
    assert settings.template(AlertKind.SLA_BREACH, 'en') == SID_EN
    assert settings.template(AlertKind.SLA_BREACH, 'hi') == SID_EN
    assert settings.template(AlertKind.SLA_RISK, 'en') is None


def test_without_an_english_template_there_is_no_fallback() -> None:
    # Given a Spanish-only template, then a Hindi speaker gets none (and goes by SMS)
    settings = AlertSettings.model_validate({'whatsapp_templates': {'sla_breach': {'es': SID_ES}}})
    assert settings.template(AlertKind.SLA_BREACH, 'es') == SID_ES
    assert settings.template(AlertKind.SLA_BREACH, 'hi') is None


def test_default_settings() -> None:
    # Given an empty alerts section
    settings = AlertSettings()

    # Then a 75% warning and one breach level to both roles apply, reminders are on, and there are no templates
    assert settings.rules.risk_shares == [0.75]
    assert settings.rules.escalations == [Escalation(after_minutes=0, notify=[Recipient.ASSIGNEE, Recipient.MANAGER])]
    assert settings.reminders == ReminderSettings(enabled=True, targets={})
    assert settings.whatsapp_templates == {}
    assert settings.template(AlertKind.SLA_BREACH, 'en') is None


ALERTS: dict[str, Any] = {
    'rules': {
        'risk_shares': [0.5, 0.9],
        'escalations': [{'after_minutes': 0}, {'after_minutes': 30, 'notify': ['manager'], 'shift_hours_only': True}],
        'approval_wait_minutes': 90,
    },
    'quiet_hours': {'start': '22:00', 'end': '07:00'},
    'max_late_minutes': 120,
    'whatsapp_templates': {'sla_breach': {'en': SID_EN, 'hi': SID_ES}},
    'reminders': {'enabled': False, 'targets': {'service_advisor': 'Close 8 job cards.'}},
}


def test_the_service_configuration_accepts_an_alerts_section() -> None:
    # Given a service configuration document with a full alerts section
    document = {'version': 3, 'alerts': ALERTS}

    # When it is validated (as a dict, and as the JSON text in SSM)
    config = ServiceConfig.model_validate(document)
    parsed = parse_config(json.dumps(document))

    # Then every alerts setting is read as written
    alerts = config.alerts
    assert alerts.rules == AlertRules(
        risk_shares=[0.5, 0.9],
        escalations=[Escalation(after_minutes=0), Escalation(after_minutes=30, notify=[Recipient.MANAGER], shift_hours_only=True)],
        approval_wait_minutes=90,
    )
    assert alerts.quiet_hours == QuietHours(start='22:00', end='07:00')
    assert alerts.max_late_minutes == 120
    assert alerts.template(AlertKind.SLA_BREACH, 'hi') == SID_ES
    assert alerts.reminders == ReminderSettings(enabled=False, targets={'service_advisor': 'Close 8 job cards.'})
    assert parsed == config


def test_a_bad_template_in_the_service_configuration_is_refused_with_its_path() -> None:
    # Given a service configuration whose alerts section has a bad template SID
    document = {'alerts': {'whatsapp_templates': {'promise_missed': {'en': 'HX-not-a-sid'}}}}

    # When it is validated, then it is refused at alerts.whatsapp_templates, naming the kind and language
    with pytest.raises(ValidationError) as refused:
        ServiceConfig.model_validate(document)
    [error] = refused.value.errors()
    assert error['loc'][:2] == ('alerts', 'whatsapp_templates')
    assert 'promise_missed.en' in error['msg']


def test_an_unknown_key_in_the_alerts_section_is_refused() -> None:
    # Given a misspelt setting, then the document is refused rather than silently ignoring it
    with pytest.raises(ValidationError) as refused:
        ServiceConfig.model_validate({'alerts': {'max_late_minute': 10}})
    assert refused.value.errors()[0]['loc'] == ('alerts', 'max_late_minute')


@pytest.mark.parametrize('share', [0.0, 1.0, 1.2, -0.1])
def test_risk_shares_outside_zero_and_one_are_refused(share: float) -> None:
    # Given a share of 0, 100%, more, or a negative one (next to a valid one)
    # When the rules are built, then they are refused naming risk_shares
    with pytest.raises(ValueError, match='risk_shares'):
        AlertRules(risk_shares=[0.5, share])


def test_risk_shares_strictly_inside_zero_and_one_are_accepted() -> None:
    # Given shares just inside the bounds, then they are kept as given
    assert AlertRules(risk_shares=[0.01, 0.5, 0.99]).risk_shares == [0.01, 0.5, 0.99]


def test_a_risk_share_outside_the_bounds_is_refused_in_the_service_configuration() -> None:
    # Given a service configuration with a 100% risk share, then it does not load
    with pytest.raises(ValueError, match='risk_shares'):
        ServiceConfig.model_validate({'alerts': {'rules': {'risk_shares': [1.0]}}})


def test_at_most_four_escalation_levels() -> None:
    # Given four levels, then they are accepted
    four = [Escalation(after_minutes=minutes) for minutes in (0, 30, 60, 120)]
    assert len(AlertRules(escalations=four).escalations) == 4

    # And given five, then they are refused at escalations
    with pytest.raises(ValidationError) as refused:
        AlertRules(escalations=[*four, Escalation(after_minutes=240)])
    assert refused.value.errors()[0]['loc'] == ('escalations',)


def test_an_escalation_cannot_come_before_the_breach() -> None:
    # Given an escalation 10 minutes before the breach, then it is refused
    with pytest.raises(ValidationError):
        Escalation(after_minutes=-10)


def test_the_approval_wait_must_be_positive() -> None:
    # Given an approval wait of zero minutes, then it is refused
    with pytest.raises(ValidationError):
        AlertRules(approval_wait_minutes=0)
