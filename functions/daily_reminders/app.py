"""Scheduled twice a day: plan each active person's daily reminder for the next 24 hours, due at their shift start in
their location's time zone (shared/alerts/reminders.py). Idempotent per person and local date; the reminder's content
is composed when it goes out. Reads the directory's `employees` index (a Query, never a Scan).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.alerts.reminders import Person, plan_reminders
from shared.alerts.store import AlertStore
from shared.directory.store import DirectoryStore
from shared.observability import logger, metrics
from shared.scheduled import scheduled_time
from shared.sla.config import load_config

HORIZON = timedelta(hours=24)


def people() -> list[Person]:
    directory = DirectoryStore()
    attributes = ['employee_id', 'location_id', 'time_zone', 'active']
    return [
        Person(record.employee_id, record.location_id, record.time_zone or 'UTC', bool(record.active))
        for record in directory.profile.employees_index.query('EMPLOYEE', attributes_to_get=attributes)
    ]


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = scheduled_time(event)
    if isinstance(now, dict):
        return now
    reminders = plan_reminders(people(), load_config(), now, HORIZON)
    store = AlertStore()
    planned = sum(1 for reminder in reminders if store.upsert(reminder, now, only_new=True))  # planned twice a day: once
    metrics.add_metric(name='RemindersPlanned', unit=MetricUnit.Count, value=planned)
    logger.info('daily reminders planned', extra={'planned': planned, 'found': len(reminders)})
    return {'ok': True, 'planned': planned, 'found': len(reminders)}
