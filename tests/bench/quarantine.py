"""Bench (issue 13): what an unauthenticated request costs the quarantine, and a fuzz run through the real handlers.

`quarantine_write_units_per_unauthenticated_request` (goal <= 2): unsigned, wrongly signed and unknown-source requests
of sizes from empty to 1 MB (and one of 6 MB, which the handler reads although Lambda's 6 MB invocation limit would
refuse it first) through the real ingest handler on moto; DynamoDB write units sized as AWS bills them (capacity.py:
item sizes, the keys-only index entries, the counter's UpdateItem), divided by the requests.

The fuzz: for every source in shared.sources, mutations of its wire samples (tests/fixtures/wire_samples and
/work/shared/reference/wire-samples, those the adapter accepts as they are) - type swaps, nulls, huge strings,
unicode (lone surrogates, NUL, RTL, emoji), missing fields, nested junk, numbers out of range, bad timestamps, and a
few at once - each RE-SIGNED with the source's secret the way the sender signs, posted to the real ingest handler as
an API Gateway event; what it queues is then run through the real ticket processor handler. A 5xx answer, an
exception out of a handler, or a record the processor fails counts in `mutations_5xx` (goal 0).
"""

from __future__ import annotations

import copy
import json
import os
import random
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIRS = (ROOT / 'tests' / 'fixtures' / 'wire_samples', Path('/work/shared/reference/wire-samples'))
MUTATIONS_PER_SOURCE = int(os.environ.get('BENCH_FUZZ_PER_SOURCE', '2000'))
UNAUTHENTICATED_REQUESTS = 200
KB, MB = 1024, 1024 * 1024
# The local stack's secrets (tests/support/local_aws.py) plus the people sources', which it does not store.
EXTRA_SECRETS = {'lms': {'secret': 'lms-bench-secret'}, 'quality': {'secret': 'quality-bench-secret'},
                 'safety': {'secret': 'safety-bench-secret'}}
TOKEN_SOURCES = ('freshdesk', 'gorgias', 'salesforce')


# --- the unauthenticated flood ---------------------------------------------------------------------------------------
def unauthenticated_write_units(n: int = UNAUTHENTICATED_REQUESTS) -> dict[str, Any]:
    from functions.webhook_ingest.app import lambda_handler as ingest
    from shared.config import get_settings
    from tests.bench.capacity import metered
    from tests.bench.run import handler_output_discarded
    from tests.support.apigw import http_api_event, lambda_context
    from tests.support.local_aws import local_aws

    rng = random.Random(13)
    sizes = (0, 200, 2 * KB, 3 * KB, 16 * KB, 100 * KB, 256 * KB, 512 * KB, MB)
    blobs = {size: rng.randbytes(size) for size in sizes}  # incompressible: the sender chooses the worst case
    kinds: tuple[tuple[str, dict[str, str], dict[str, str]], ...] = (
        ('zendesk', {'X-Zendesk-Webhook-Signature': 'forged', 'X-Zendesk-Webhook-Signature-Timestamp': '2024-05-14T11:40:03Z'}, {}),
        ('freshdesk', {}, {'token': 'guessed'}),
        ('dms', {}, {}),
        ('no-such-source', {}, {}),
    )
    statuses: Counter[int] = Counter()
    with local_aws(), handler_output_discarded(), metered() as meter:
        table = get_settings().QUARANTINE_TABLE
        for index in range(n):
            source, headers, query = kinds[index % len(kinds)]
            event = http_api_event(f'/webhooks/{source}', blobs[sizes[index % len(sizes)]], headers, query)
            statuses[ingest(event, lambda_context())['statusCode']] += 1
        six_mb = http_api_event('/webhooks/zendesk', rng.randbytes(6 * MB))
        statuses[ingest(six_mb, lambda_context())['statusCode']] += 1
        units = meter.table_write_units[table]
        items = meter.dynamodb['PutItem'].items
    requests = n + 1
    return {
        'quarantine_write_units_per_unauthenticated_request': round(units / requests, 3),
        'quarantine_unauthenticated_requests': requests,
        'quarantine_unauthenticated_items_kept': items,
        'quarantine_unauthenticated_statuses': {str(k): v for k, v in sorted(statuses.items())},
    }


# --- mutations ---------------------------------------------------------------------------------------------------------
HUGE = ('x' * 300_000, 'é' * 100_000, '😀' * 50_000)
UNICODE = ('\ud800', 'a\x00b', '\u202eevil', '😀' * 10, 'Ω≈ç√', '\ufeff', 'line\nbreak\r\n', '\u0000', 'ｆｕｌｌ')
BAD_TIMES = ('2024-13-45T99:99:99Z', '0000-00-00T00:00:00Z', '9999-12-31T23:59:59Z', '1970-01-01T00:00:00Z', 'yesterday', '',
             '2024-05-14T11:40:03+25:00', '2024-05-14 11:40', '-1', '1e20', '2024-02-30T00:00:00Z', 'T')
NUMBERS = (-1, 0, 2**63, -(2**63) - 1, 10**400, 1e308, -1e308, 3.5, 1e-320, 99999999999999999999)


def _junk(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(6 if depth < 40 else 3)
    if pick == 0:
        return rng.choice((None, True, False, 0, -7, 1.5, ''))
    if pick == 1:
        return rng.choice(UNICODE)
    if pick == 2:
        return rng.choice(NUMBERS)
    if pick == 3:
        return [_junk(rng, depth + 1) for _ in range(rng.randrange(1, 3))]
    if pick == 4:
        return {rng.choice(('id', 'a', '', 'ticket', '$ref')): _junk(rng, depth + 1)}
    return json.loads('[' * 60 + ']' * 60)


def _swap(value: Any, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return rng.choice(('true', 1, None))
    if isinstance(value, int | float):
        return rng.choice((str(value), [value], {'value': value}, True))
    if isinstance(value, str):
        return rng.choice(([value], {'v': value}, 12345, 1.5, False) + ((int(value),) if value.isdigit() and len(value) < 30 else ()))
    if isinstance(value, list):
        return rng.choice(({'0': value}, 'list', len(value)))
    if isinstance(value, dict):
        return rng.choice(([value], 'object', 1))
    return rng.choice(('null', 0, []))


def _mutate_value(value: Any, key: str, rng: random.Random) -> tuple[str, Any]:
    """(operator, new value); the `_DELETE` marker removes the field."""
    operator = rng.choice(('swap', 'null', 'huge', 'unicode', 'delete', 'junk', 'number', 'time', 'time', 'empty'))
    if 'time' not in operator and any(word in key.lower() for word in ('at', 'date', 'time')) and rng.random() < 0.5:
        operator = 'time'
    new: Any
    if operator == 'swap':
        new = _swap(value, rng)
    elif operator == 'null':
        new = None
    elif operator == 'huge':
        new = rng.choice(HUGE) if rng.random() < 0.1 else rng.choice(('x', 'é', '1')) * rng.choice((300, 5_000, 40_000))
    elif operator == 'unicode':
        new = rng.choice(UNICODE) + (value if isinstance(value, str) else '')
    elif operator == 'delete':
        new = _DELETE
    elif operator == 'junk':
        new = _junk(rng)
    elif operator == 'number':
        new = rng.choice(NUMBERS)
    elif operator == 'time':
        new = rng.choice(BAD_TIMES)
    else:
        new = rng.choice(('', [], {}))
    return operator, new


_DELETE = object()


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    items = document.items() if isinstance(document, dict) else enumerate(document) if isinstance(document, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found.extend(_paths(value, (*prefix, key)))
    return found


ID_KEYS = ('id', 'ticket_id', 'event_id', 'response_id')


def distinct(document: Any, n: int) -> Any:
    """The sample with its ids made its own (mutation `n`): each mutation is a ticket of its own, as a fuzz of fields
    should be (hammering one ticket with thousands of events is the size drill's subject, not this one's)."""
    result = copy.deepcopy(document)
    for parent in [result, *[v for v in result.values() if isinstance(v, dict)]] if isinstance(result, dict) else []:
        for key in ID_KEYS:
            value = parent.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                parent[key] = value + 1_000_000 + n
            elif isinstance(value, str):
                parent[key] = str(int(value) + 1_000_000 + n) if value.isdigit() else f'{value}-f{n}'
    return result


def _base36(n: int, width: int) -> bytes:
    digits = '0123456789abcdefghijklmnopqrstuvwxyz'
    text = ''
    for _ in range(width):
        n, rest = divmod(n, 36)
        text = digits[rest] + text
    return text.encode()


def distinct_xml(raw: bytes, n: int) -> bytes:
    """The Salesforce sample with its case and notification ids made its own (same length, valid id characters)."""
    return raw.replace(b'AbCd', _base36(n, 4)).replace(b'Gx7', _base36(n, 3))


def mutate_json(document: Any, rng: random.Random) -> tuple[bytes, str]:
    result = copy.deepcopy(document)
    operators = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        paths = _paths(result)
        if not paths:
            break
        path = rng.choice(paths)
        parent = result
        for key in path[:-1]:
            parent = parent[key]
        operator, new = _mutate_value(parent[path[-1]], str(path[-1]), rng)
        operators.append(operator)
        if new is _DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = new
    if rng.random() < 0.03:  # the whole body replaced
        operators.append('body')
        return rng.choice((b'', b'null', b'[]', b'"text"', b'{' * 5000, b'\xff\xfe{}', json.dumps(_junk(rng)).encode())), 'body'
    allow_nan = rng.random() < 0.02
    return json.dumps(result, allow_nan=True).encode() if allow_nan else _dumps(result), '+'.join(operators) or 'none'


def _dumps(document: Any) -> bytes:
    try:
        return json.dumps(document, allow_nan=False).encode()
    except ValueError:
        return json.dumps(document, allow_nan=True).encode()


def mutate_xml(raw: bytes, rng: random.Random) -> tuple[bytes, str]:
    root = ET.fromstring(raw)
    elements = [element for element in root.iter() if element is not root]
    operators = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        if not elements:
            break
        element = rng.choice(elements)
        operator = rng.choice(('text', 'huge', 'unicode', 'delete', 'junk', 'time', 'number', 'duplicate', 'empty'))
        operators.append(operator)
        if operator == 'text':
            element.text = rng.choice(('true', 'x', '-1', '0', 'null'))
        elif operator == 'huge':
            element.text = 'x' * rng.choice((300, 5_000, 200_000))
        elif operator == 'unicode':
            element.text = rng.choice(('Ω≈ç√', '😀' * 10, '\u202eevil', 'ｆｕｌｌ'))
        elif operator == 'delete':
            for parent in root.iter():
                if element in list(parent):
                    parent.remove(element)
                    break
            elements = [e for e in root.iter() if e is not root]
        elif operator == 'junk':
            child = element
            for _ in range(rng.randrange(1, 30)):
                child = ET.SubElement(child, rng.choice(('Id', 'Status', 'junk', 'sObject', 'Notification')))
            child.text = 'junk'
        elif operator == 'time':
            element.text = rng.choice(BAD_TIMES)
        elif operator == 'number':
            element.text = str(rng.choice(NUMBERS))
        elif operator == 'duplicate':
            for parent in root.iter():
                if element in list(parent):
                    parent.append(copy.deepcopy(element))
                    break
        else:
            element.text = ''
    body = ET.tostring(root, encoding='utf-8', xml_declaration=True)
    if rng.random() < 0.03:
        return rng.choice((b'', b'<a>', b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', b'\xff\xfe', raw[: len(raw) // 2])), 'body'
    return body, '+'.join(operators)


def seeds(source: str) -> list[bytes]:
    """The wire samples of `source` its adapter accepts as they are (each distinct once)."""
    from shared.sources import get_adapter
    from shared.sources.base import WebhookRequest

    adapter, found = get_adapter(source), dict[bytes, str]()
    for directory in SAMPLE_DIRS:
        for path in sorted(directory.glob(f'{source}_*')) if directory.is_dir() else []:
            raw = path.read_bytes()
            try:
                adapter.parse(WebhookRequest(body=raw, headers={}), datetime.now(UTC))
            except Exception:  # noqa: S112 - not a payload this adapter takes as it is (a config, a template, a vector)
                continue
            found.setdefault(raw, path.name)
    return list(found)


def signer(source: str, secrets: dict[str, dict[str, str]]) -> Callable[[bytes], tuple[dict[str, str], dict[str, str]]]:
    """How the source's sender authenticates a body: (headers, query)."""
    from infrastructure.local.sample_month import zendesk_headers
    from shared.sources import signing

    secret = secrets[source]['secret']
    if source == 'zendesk':
        return lambda body: (zendesk_headers(body, secret), {})
    if source == 'salesforce':
        return lambda body: ({'Content-Type': 'text/xml'}, {'token': secret})
    if source in TOKEN_SOURCES:
        return lambda body: ({'X-Pitcrew-Token': secret, 'Content-Type': 'application/json'}, {})
    return lambda body: (signing.signed_headers(secret, int(time.time()), body), {})


def fuzz(per_source: int = MUTATIONS_PER_SOURCE) -> dict[str, Any]:
    import boto3

    from functions.ticket_processor import app as processor_app
    from functions.webhook_ingest.app import lambda_handler as ingest
    from shared.directory.employees import parse_export
    from shared.directory.store import DirectoryStore
    from shared.sources import ADAPTER_NAMES
    from tests.bench.run import handler_output_discarded
    from tests.support.apigw import http_api_event, lambda_context, sqs_event
    from tests.support.factories import DIRECTORY_CSV
    from tests.support.local_aws import SECRETS, local_aws

    rng = random.Random(2024)
    secrets = {**SECRETS, **EXTRA_SECRETS}
    tried = accepted = quarantined = 0
    failures: Counter[str] = Counter()  # source / where / what -> count
    examples: dict[str, str] = {}
    per_source_counts: dict[str, int] = {}
    started = time.perf_counter()
    with local_aws() as aws, handler_output_discarded():
        ssm = boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION'])
        for source, value in EXTRA_SECRETS.items():
            ssm.put_parameter(Name=f'{os.environ["SECRETS_PREFIX"]}/{source}', Value=json.dumps(value), Type='SecureString', Overwrite=True)
        DirectoryStore().import_rows(parse_export(DIRECTORY_CSV, 'csv'), datetime.now(UTC))
        processor_app._processor = None  # bound to these tables

        def process() -> None:
            while True:
                received = aws.sqs.receive_message(QueueUrl=aws.queue_url, MaxNumberOfMessages=10, AttributeNames=['All'],
                                                   WaitTimeSeconds=0).get('Messages', [])
                if not received:
                    return
                try:
                    answer = processor_app.lambda_handler(sqs_event(received), lambda_context())
                    failed = {f['itemIdentifier'] for f in answer.get('batchItemFailures', [])}
                    for exception in processor_app.batch.exceptions:
                        name = f'processor:{exception[0].__name__ if exception[0] else "?"}'
                        failures[f'{source}:{name}'] += 0  # counted per record below
                        examples.setdefault(f'{source}:{name}', str(exception[1])[:200])
                except Exception as exc:  # the whole batch failed
                    failed = {m['MessageId'] for m in received}
                    examples.setdefault(f'{source}:processor-batch:{type(exc).__name__}', str(exc)[:200])
                for _ in failed:
                    failures[f'{source}:processor'] += 1
                aws.sqs.delete_message_batch(QueueUrl=aws.queue_url, Entries=[
                    {'Id': str(i), 'ReceiptHandle': m['ReceiptHandle']} for i, m in enumerate(received)])

        for source in ADAPTER_NAMES:
            samples = seeds(source)
            sign = signer(source, secrets)
            parsed_samples: list[Any] = [None if raw.lstrip()[:1] == b'<' else json.loads(raw) for raw in samples]
            for n in range(per_source):
                index = n % len(samples)
                raw, document = samples[index], parsed_samples[index]
                if document is None:
                    body, operator = mutate_xml(distinct_xml(raw, n), rng)
                else:
                    body, operator = mutate_json(distinct(document, n), rng)
                headers, query = sign(body)
                tried += 1
                try:
                    status = ingest(http_api_event(f'/webhooks/{source}', body, headers, query), lambda_context())['statusCode']
                except Exception as exc:
                    status = 599
                    examples.setdefault(f'{source}:ingest:{type(exc).__name__}', f'{operator}: {str(exc)[:200]}')
                if status >= 500:
                    failures[f'{source}:ingest'] += 1
                    examples.setdefault(f'{source}:ingest:{status}', f'{operator}: {body[:160]!r}')
                elif status == 200:
                    accepted += 1
                else:
                    quarantined += 1
                if n % 50 == 49:
                    process()
            process()
            per_source_counts[source] = per_source
            print(f'  fuzz {source}: {per_source} mutations, {time.perf_counter() - started:.0f} s', file=sys.stderr, flush=True)
    return {
        'mutations_tried': tried,
        'mutations_5xx': sum(failures.values()),
        'mutations_quarantined': quarantined,
        'mutations_accepted': accepted,
        'mutations_per_source': min(per_source_counts.values()) if per_source_counts else 0,
        'mutations_5xx_by_source': dict(sorted((k, v) for k, v in failures.items() if v)),
        'mutations_5xx_examples': dict(sorted(examples.items())[:10]),
        'mutations_wall_s': round(time.perf_counter() - started, 1),
    }


def figures() -> dict[str, Any]:
    return {**unauthenticated_write_units(), **fuzz()}


if __name__ == '__main__':
    import tests.conftest  # noqa: F401  (test environment, as run.py sets it)

    print(json.dumps(figures()))
