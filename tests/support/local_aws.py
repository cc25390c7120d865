"""A moto-backed AWS with Pitcrew's tables and queues created from template.yaml."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

from infrastructure.local import moto_patches
from infrastructure.local.template_resources import BUCKET_ENV, TABLE_ENV, create_buckets, create_queues, create_tables

SECRETS = {
    'zendesk': {'secret': 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=='},
    'freshdesk': {'secret': 'freshdesk-local-token'},
    'salesforce': {'secret': 'salesforce-local-token', 'organization_id': '00D5g000000ABCDEAZ'},
    'gorgias': {'secret': 'gorgias-local-token'},
    'dms': {'secret': 'dms-local-signing-secret'},
    'survey': {'secret': 'survey-local-signing-secret'},
}


@dataclass
class LocalAws:
    queue_url: str
    dlq_url: str
    sqs: Any
    dynamodb: Any
    stream_position: int = 0
    queues: dict[str, str] = field(default_factory=dict)

    def ticket_changes(self) -> list[dict[str, Any]]:
        """The tickets table's stream records not yet taken, in the shape Lambda delivers them."""
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends['123456789012'][os.environ['AWS_DEFAULT_REGION']].get_table(os.environ['TICKETS_TABLE'])
        shard = table.stream_shard
        assert shard is not None, 'the tickets table has no stream (template.yaml StreamSpecification)'
        records = [item.to_json() for item in shard.items[self.stream_position :]]
        self.stream_position += len(records)
        return records

    def aggregate_kpis(self, batch_size: int = 200) -> list[dict[str, Any]]:
        """Feed the stream to the KPI aggregator in batches, as the DynamoDB event source mapping does."""
        from functions.kpi_aggregator import app
        from tests.support.apigw import lambda_context

        app._store = None  # bound to this test's tables
        lambda_handler = app.lambda_handler

        records = self.ticket_changes()
        return [lambda_handler({'Records': records[i : i + batch_size]}, lambda_context()) for i in range(0, len(records), batch_size)]

    def drain(self, max_messages: int = 10_000) -> list[dict[str, Any]]:
        """Receive (and delete) every message on the events queue, as Lambda's poller would."""
        received: list[dict[str, Any]] = []
        while len(received) < max_messages:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                             AttributeNames=['All'], WaitTimeSeconds=0).get('Messages', [])
            if not batch:
                break
            for message in batch:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message['ReceiptHandle'])
            received.extend(batch)
        return received


def _reset_caches() -> None:
    from shared.config import get_settings

    get_settings.cache_clear()
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()


@contextmanager
def local_aws(*, fast_transactions: bool = True) -> Iterator[LocalAws]:
    if fast_transactions:
        moto_patches.apply()
    with mock_aws():
        region = os.environ['AWS_DEFAULT_REGION']
        dynamodb = boto3.client('dynamodb', region_name=region)
        sqs = boto3.client('sqs', region_name=region)
        ssm = boto3.client('ssm', region_name=region)
        # Names differ from the code's defaults so that a model bound to the wrong table fails loudly.
        tables = create_tables(dynamodb, {lid: f'test-{default}' for lid, (_, default) in TABLE_ENV.items()})
        queues = create_queues(sqs)
        buckets = create_buckets(boto3.client('s3', region_name=region), {lid: f'test-{default}' for lid, (_, default) in BUCKET_ENV.items()})
        for logical_id, name in buckets.items():
            os.environ[BUCKET_ENV[logical_id][0]] = name
        for logical_id, name in tables.items():
            os.environ[TABLE_ENV[logical_id][0]] = name
        os.environ['EVENTS_QUEUE_URL'] = queues['EventsQueue']
        os.environ['ALERTS_QUEUE_URL'] = queues['AlertsQueue']
        prefix = os.environ['SECRETS_PREFIX']
        for source, value in SECRETS.items():
            ssm.put_parameter(Name=f'{prefix}/{source}', Value=json.dumps(value), Type='SecureString')
        _reset_caches()
        try:
            yield LocalAws(queue_url=queues['EventsQueue'], dlq_url=queues['EventsDLQ'], sqs=sqs, dynamodb=dynamodb, queues=queues)
        finally:
            _reset_caches()
