"""Environment configuration, validated once per cold start (pydantic)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    STAGE: str = Field(default='dev', min_length=1)
    TICKETS_TABLE: str = Field(default='pitcrew-tickets', min_length=3)
    LEDGER_TABLE: str = Field(default='pitcrew-ledger', min_length=3)
    BALANCES_TABLE: str = Field(default='pitcrew-balances', min_length=3)
    DIRECTORY_TABLE: str = Field(default='pitcrew-directory', min_length=3)
    QUARANTINE_TABLE: str = Field(default='pitcrew-quarantine', min_length=3)
    # Quarantine items (and rejection counters) expire this many days after they were written or replayed (TTL).
    QUARANTINE_RETENTION_DAYS: int = Field(default=30, ge=1, le=3650)
    # Unauthenticated rejections are counted per source and hour; only this many of each hour are also kept as metadata.
    QUARANTINE_REJECTION_SAMPLES: int = Field(default=10, ge=0, le=10_000)
    KPI_TABLE: str = Field(default='pitcrew-kpi', min_length=3)
    # The pending view: awards inside their hold window, one item per (employee, award); and how many
    # partitions the tickets table's sparse `holds` index (tickets with pending awards, by release time) has.
    PENDING_TABLE: str = Field(default='pitcrew-pending', min_length=3)
    # Leagues: live scores, histograms, close markers and snapshots, levels and badges (shared/leagues).
    LEAGUES_TABLE: str = Field(default='pitcrew-leagues', min_length=3)
    # Recognition: allowances, pair counters, the feed, collusion flags, spot-award budgets and approvals, nudges
    # (shared/recognition). Rewards: catalogue stock, limits, location budgets, redemptions and their queue, payout
    # runs (shared/wallet). Catalogues: one SSM String parameter (JSON) per program under CATALOGUES_PATH (empty: none).
    RECOGNITION_TABLE: str = Field(default='pitcrew-recognition', min_length=3)
    REWARDS_TABLE: str = Field(default='pitcrew-rewards', min_length=3)
    CATALOGUES_PATH: str = Field(default='', max_length=2048)
    REDEMPTIONS_QUEUE_URL: str = Field(default='')
    PAYOUTS_BUCKET: str = Field(default='', max_length=255)
    # The league close's fan-out: one message per division (LeagueCloseQueue), and the payments in flight per division.
    LEAGUE_CLOSE_QUEUE_URL: str = Field(default='')
    LEAGUE_PAY_THREADS: int = Field(default=8, ge=1, le=64)
    # What-if previews as jobs (shared/programs/preview_jobs.py): the admin API queues one message per job here.
    PREVIEWS_QUEUE_URL: str = Field(default='')
    HOLD_SHARDS: int = Field(default=4, ge=1, le=64)
    # The service configuration (locations, calendars, SLA policies, KPI settings): an SSM parameter
    # holding JSON; empty = the built-in default (24x7, default policies).
    SERVICE_CONFIG_PARAMETER: str = Field(default='', max_length=2048)
    SERVICE_CONFIG_MAX_AGE_S: int = Field(default=300, ge=0)
    # Incentive programs: one SSM String parameter (JSON) per program under this path, e.g. /pitcrew/dev/programs;
    # empty = the built-in default program (shared/programs/default_program.json).
    PROGRAMS_PATH: str = Field(default='', max_length=2048)
    PROGRAMS_MAX_AGE_S: int = Field(default=300, ge=0)
    EVENTS_QUEUE_URL: str = Field(default='', description='SQS queue between acknowledging a webhook and processing it')
    EVENTS_MAX_RECEIVE_COUNT: int = Field(default=5, ge=1, description="The queue's redrive maxReceiveCount")
    SECRETS_PREFIX: str = Field(default='/pitcrew/dev/sources', pattern=r'^/')
    SECRETS_MAX_AGE_S: int = Field(default=300, ge=0)
    # Verify with the source: helpdesk REST API credentials, one SecureString JSON per source under this path
    # (read by the ticket processor only, and only for sources whose `verify` is `source_api`).
    SOURCE_API_PREFIX: str = Field(default='/pitcrew/dev/source-api', pattern=r'^/')
    MAX_BODY_BYTES: int = Field(default=1_048_576, ge=1024)
    SIGNATURE_TOLERANCE_S: int = Field(default=300, ge=1)
    # Ledger audit digest: a verified SES identity, and admin addresses separated by commas. No
    # recipients: the audit still runs, records its metrics and logs, and sends nothing.
    AUDIT_EMAIL_FROM: str = Field(default='', max_length=320)
    AUDIT_EMAIL_TO: str = Field(default='', max_length=4000)
    # Alerts: the table of pending and sent alerts, the queue between the one-minute scan and the sender, the
    # number of partitions of the due index, the Twilio parameter (a SecureString path, not the secret), the
    # public base URL Twilio calls back (and signs), the pace of sends per sender instance and the e-mail sender.
    ALERTS_TABLE: str = Field(default='pitcrew-alerts', min_length=3)
    ALERTS_QUEUE_URL: str = Field(default='')
    ALERTS_MAX_RECEIVE_COUNT: int = Field(default=5, ge=1)
    ALERT_DUE_SHARDS: int = Field(default=4, ge=1, le=64)
    ALERT_SCANS_PER_MINUTE: int = Field(default=2, ge=1, le=6)
    TWILIO_PARAMETER: str = Field(default='', max_length=2048)
    PUBLIC_API_BASE_URL: str = Field(default='', max_length=2048)
    ALERT_MESSAGES_PER_SECOND: float = Field(default=10.0, gt=0)
    ALERT_EMAIL_FROM: str = Field(default='', max_length=320)
    # Maker-checker: an adjustment of more than this many points (either sign) waits for a second person's approval.
    ADJUSTMENT_APPROVAL_ABOVE: int = Field(default=500, ge=0)
    # IAM principals (ARNs; `*` wildcards) that may decide any dispute, besides the employee's managers in the directory.
    ADMIN_PRINCIPALS: str = Field(default='', max_length=4000)
    # The people-facing API (shared/api): its table (idempotency records, throttle counters, kiosk PINs and lockouts), the
    # Secrets Manager secret that signs cursors and kiosk sessions (its name or ARN, never the value), the page's origin.
    API_TABLE: str = Field(default='pitcrew-api', min_length=3)
    API_SIGNING_SECRET: str = Field(default='', max_length=2048)
    WEB_ORIGIN: str = Field(default='', max_length=2048)
    # The people user pool (Cognito): the directory import keeps each person's login in step (shared/directory/logins.py).
    PEOPLE_USER_POOL_ID: str = Field(default='', max_length=128)
    # Only against the local stack: Twilio's API host is rewritten to this base URL (the fake Twilio).
    TWILIO_API_BASE_URL: str = Field(default='', max_length=2048)
    AWS_REGION: str = Field(default_factory=lambda: os.environ.get('AWS_DEFAULT_REGION', 'us-east-1'))
    # Set only against a local stack (moto server); unset in AWS.
    AWS_ENDPOINT_URL: str | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate({k: v for k, v in os.environ.items() if k in Settings.model_fields})
