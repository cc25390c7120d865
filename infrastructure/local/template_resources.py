"""Create the template's DynamoDB tables and SQS queues on a local AWS (moto), from `template.yaml`
itself, so that local runs and tests cannot drift from what is deployed."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[2] / 'template.yaml'

# Logical id -> the environment variable (and default local name) the code reads.
TABLE_ENV = {
    'TicketsTable': ('TICKETS_TABLE', 'pitcrew-tickets'),
    'LedgerTable': ('LEDGER_TABLE', 'pitcrew-ledger'),
    'BalancesTable': ('BALANCES_TABLE', 'pitcrew-balances'),
    'DirectoryTable': ('DIRECTORY_TABLE', 'pitcrew-directory'),
    'QuarantineTable': ('QUARANTINE_TABLE', 'pitcrew-quarantine'),
    'KpiTable': ('KPI_TABLE', 'pitcrew-kpi'),
    'AlertsTable': ('ALERTS_TABLE', 'pitcrew-alerts'),
    'PendingAwardsTable': ('PENDING_TABLE', 'pitcrew-pending'),
    'LeaguesTable': ('LEAGUES_TABLE', 'pitcrew-leagues'),
    'RecognitionTable': ('RECOGNITION_TABLE', 'pitcrew-recognition'),
    'RewardsTable': ('REWARDS_TABLE', 'pitcrew-rewards'),
    'ApiTable': ('API_TABLE', 'pitcrew-api'),
}


@lru_cache(maxsize=1)
def template_document() -> dict[str, Any]:
    """template.yaml as CloudFormation reads it: short-form tags in their long form (`!Ref X` -> {'Ref': 'X'},
    `!GetAtt A.B` -> {'Fn::GetAtt': ['A', 'B']}, `!Sub ...` -> {'Fn::Sub': ...}), as cfn-lint's decoder gives it.
    PyYAML's C loader rather than cfn-lint's: importing cfn-lint took about 40% of the local stack's start."""
    import yaml

    loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)

    class _Loader(loader):  # type: ignore[valid-type,misc]
        pass

    def long_form(reader: Any, suffix: str, node: Any) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = reader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = reader.construct_sequence(node, deep=True)
        else:
            value = reader.construct_mapping(node, deep=True)
        if suffix in ('Ref', 'Condition'):
            return {suffix: value}
        if suffix == 'GetAtt' and isinstance(value, str):
            value = value.split('.', 1)
        return {f'Fn::{suffix}': value}

    _Loader.add_multi_constructor('!', long_form)
    template = yaml.load(TEMPLATE.read_text(), Loader=_Loader)  # noqa: S506 (a safe loader with CloudFormation's tags)
    if not isinstance(template, dict) or 'Resources' not in template:
        raise RuntimeError('template.yaml does not parse as a CloudFormation template')
    return dict(template)


def template_resources() -> dict[str, Any]:
    return dict(template_document()['Resources'])


def create_tables(dynamodb: Any, names: dict[str, str] | None = None) -> dict[str, str]:
    """Create every AWS::DynamoDB::Table of the template; returns logical id -> table name."""
    created = {}
    for logical_id, resource in template_resources().items():
        if resource.get('Type') != 'AWS::DynamoDB::Table':
            continue
        props = resource['Properties']
        name = (names or {}).get(logical_id) or TABLE_ENV[logical_id][1]
        kwargs: dict[str, Any] = {
            'TableName': name,
            'KeySchema': props['KeySchema'],
            'AttributeDefinitions': props['AttributeDefinitions'],
            'BillingMode': props.get('BillingMode', 'PAY_PER_REQUEST'),
        }
        if props.get('StreamSpecification'):
            kwargs['StreamSpecification'] = {'StreamEnabled': True, **props['StreamSpecification']}
        if props.get('GlobalSecondaryIndexes'):
            kwargs['GlobalSecondaryIndexes'] = [
                {'IndexName': g['IndexName'], 'KeySchema': g['KeySchema'], 'Projection': g['Projection']}
                for g in props['GlobalSecondaryIndexes']
            ]
        dynamodb.create_table(**kwargs)
        ttl = props.get('TimeToLiveSpecification')
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        created[logical_id] = name
    return created


def create_queues(sqs: Any) -> dict[str, str]:
    """Create every AWS::SQS::Queue, wiring redrive policies to the created dead-letter queues."""
    resources = template_resources()
    queues = {lid: r for lid, r in resources.items() if r.get('Type') == 'AWS::SQS::Queue'}
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    ordered = sorted(queues, key=lambda lid: 'RedrivePolicy' in queues[lid].get('Properties', {}))
    for logical_id in ordered:
        props = queues[logical_id].get('Properties', {})
        attributes: dict[str, str] = {}
        for key in ('VisibilityTimeout', 'MessageRetentionPeriod'):
            if key in props:
                attributes[key] = str(props[key])
        redrive = props.get('RedrivePolicy')
        if redrive:
            target = redrive['deadLetterTargetArn']
            target_id = target['Fn::GetAtt'][0] if isinstance(target, dict) else str(target).split('.')[0]
            policy = {'deadLetterTargetArn': arns[target_id], 'maxReceiveCount': int(redrive['maxReceiveCount'])}
            attributes['RedrivePolicy'] = json.dumps(policy)
        url = sqs.create_queue(QueueName=f'pitcrew-{logical_id}', Attributes=attributes)['QueueUrl']
        urls[logical_id] = url
        arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
    return urls


# Logical id -> the environment variable (and default local name) of each S3 bucket the code writes.
BUCKET_ENV = {
    'PayoutsBucket': ('PAYOUTS_BUCKET', 'pitcrew-payouts'),
}


def create_buckets(s3: Any, names: dict[str, str] | None = None) -> dict[str, str]:
    """Create every AWS::S3::Bucket of the template (versioned when it is); returns logical id -> bucket name."""
    created = {}
    for logical_id, resource in template_resources().items():
        if resource.get('Type') != 'AWS::S3::Bucket' or logical_id not in BUCKET_ENV:
            continue
        name = (names or {}).get(logical_id) or BUCKET_ENV[logical_id][1]
        s3.create_bucket(Bucket=name)
        versioning = (resource.get('Properties') or {}).get('VersioningConfiguration')
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={'Status': versioning['Status']})
        created[logical_id] = name
    return created


def stream_filters(handler: str) -> list[dict[str, Any]]:
    """The FilterCriteria patterns of a function's DynamoDB event (none: every record is delivered)."""
    from infrastructure.local.event_filter import parse_filters

    for resource in template_resources().values():
        if resource.get('Type') != 'AWS::Serverless::Function' or resource['Properties'].get('Handler') != handler:
            continue
        for event in (resource['Properties'].get('Events') or {}).values():
            if event.get('Type') == 'DynamoDB':
                return parse_filters(event['Properties'].get('FilterCriteria'))
    return []
