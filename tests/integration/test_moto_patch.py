"""The local stack's moto patch keeps DynamoDB transaction semantics: all or nothing."""

from __future__ import annotations

import os
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infrastructure.local import moto_patches
from tests.support.local_aws import local_aws


def _table(dynamodb, name):
    dynamodb.create_table(TableName=name, KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
                          AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}, {'AttributeName': 'sk', 'AttributeType': 'S'}],
                          BillingMode='PAY_PER_REQUEST')


def test_patch_is_pinned_to_the_moto_version_it_was_written_for() -> None:
    # Given the installed moto
    # Then the patch is active exactly when the version is pinned
    assert moto_patches.apply() is (moto.__version__ in moto_patches.PINNED_MOTO_VERSIONS)


def test_failed_condition_rolls_back_every_action_including_updates_and_new_items() -> None:
    with local_aws():
        # Given an existing balance of 10 and an existing ticket at version 1
        dynamodb = boto3.client('dynamodb', region_name='us-east-1')
        _table(dynamodb, 'tx')
        dynamodb.put_item(TableName='tx', Item={'pk': {'S': 'EMP#1'}, 'sk': {'S': 'B'}, 'available': {'N': '10'}})
        dynamodb.put_item(TableName='tx', Item={'pk': {'S': 'T#1'}, 'sk': {'S': 'S'}, 'version': {'N': '1'}})

        # When a transaction puts a new entry, credits the balance, then fails a condition on the ticket
        with pytest.raises(ClientError) as raised:
            dynamodb.transact_write_items(TransactItems=[
                {'Put': {'TableName': 'tx', 'Item': {'pk': {'S': 'EMP#1'}, 'sk': {'S': 'E#1'}}}},
                {'Update': {'TableName': 'tx', 'Key': {'pk': {'S': 'EMP#1'}, 'sk': {'S': 'B'}},
                            'UpdateExpression': 'ADD available :a', 'ExpressionAttributeValues': {':a': {'N': '5'}}}},
                {'Update': {'TableName': 'tx', 'Key': {'pk': {'S': 'T#1'}, 'sk': {'S': 'S'}}, 'UpdateExpression': 'SET version = :v',
                            'ConditionExpression': 'version = :old', 'ReturnValuesOnConditionCheckFailure': 'ALL_OLD',
                            'ExpressionAttributeValues': {':v': {'N': '3'}, ':old': {'N': '2'}}}},
            ])

        # Then the transaction is cancelled with its reasons in order, and nothing it did remains
        error = raised.value.response
        assert error['Error']['Code'] == 'TransactionCanceledException'
        codes = [reason['Code'] for reason in error['CancellationReasons']]
        assert codes == ['None', 'None', 'ConditionalCheckFailed']
        assert error['CancellationReasons'][2]['Item']['version'] == {'N': '1'}  # type: ignore[typeddict-item]
        assert 'Item' not in dynamodb.get_item(TableName='tx', Key={'pk': {'S': 'EMP#1'}, 'sk': {'S': 'E#1'}})
        balance = dynamodb.get_item(TableName='tx', Key={'pk': {'S': 'EMP#1'}, 'sk': {'S': 'B'}})['Item']
        assert balance['available'] == {'N': '10'}


def test_successful_transaction_applies_every_action() -> None:
    with local_aws():
        # Given an empty table
        dynamodb = boto3.client('dynamodb', region_name='us-east-1')
        _table(dynamodb, 'tx2')

        # When a transaction of two puts and a condition check on a missing item succeeds
        dynamodb.transact_write_items(TransactItems=[
            {'Put': {'TableName': 'tx2', 'Item': {'pk': {'S': 'a'}, 'sk': {'S': '1'}}, 'ConditionExpression': 'attribute_not_exists(pk)'}},
            {'Put': {'TableName': 'tx2', 'Item': {'pk': {'S': 'a'}, 'sk': {'S': '2'}}}},
            {'ConditionCheck': {'TableName': 'tx2', 'Key': {'pk': {'S': 'z'}, 'sk': {'S': '9'}}, 'ConditionExpression': 'attribute_not_exists(pk)'}},
        ])

        # Then both items exist
        items = dynamodb.query(TableName='tx2', KeyConditionExpression='pk = :a', ExpressionAttributeValues={':a': {'S': 'a'}})['Items']
        assert len(items) == 2


def test_two_actions_on_one_item_are_rejected_and_nothing_is_written() -> None:
    with local_aws():
        dynamodb = boto3.client('dynamodb', region_name='us-east-1')
        _table(dynamodb, 'tx3')
        # When a transaction names the same item twice
        with pytest.raises(ClientError):
            dynamodb.transact_write_items(TransactItems=[
                {'Put': {'TableName': 'tx3', 'Item': {'pk': {'S': 'a'}, 'sk': {'S': '1'}, 'v': {'N': '1'}}}},
                {'Put': {'TableName': 'tx3', 'Item': {'pk': {'S': 'a'}, 'sk': {'S': '1'}, 'v': {'N': '2'}}}},
            ])
        # Then the first put was rolled back
        assert 'Item' not in dynamodb.get_item(TableName='tx3', Key={'pk': {'S': 'a'}, 'sk': {'S': '1'}})


@pytest.mark.skipif(moto.__version__ not in moto_patches.PINNED_MOTO_VERSIONS, reason='patch inactive on this moto version')
def test_sqs_receive_still_drops_messages_past_the_retention_period() -> None:
    with local_aws():
        # Given a queue that keeps messages for 60 s, holding one message sent 61 s ago and one sent now
        sqs = boto3.client('sqs', region_name='us-east-1')
        url = sqs.create_queue(QueueName='retention', Attributes={'MessageRetentionPeriod': '60'})['QueueUrl']
        sqs.send_message(QueueUrl=url, MessageBody='old')
        sqs.send_message(QueueUrl=url, MessageBody='new')
        from moto.sqs.models import sqs_backends

        queue = sqs_backends['123456789012']['us-east-1'].queues['retention']
        old = queue._messages[0]
        old.sent_timestamp = int(old.sent_timestamp or 0) - 61_000  # type: ignore[assignment]

        # When the queue is received from
        bodies = [m['Body'] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get('Messages', [])]

        # Then the expired message is not delivered (moto stops at it, as without the patch) and nothing is lost early
        assert 'old' not in bodies
        # And a message within its retention period is delivered
        queue._messages = [m for m in queue._messages if m.body == 'new']
        assert [m['Body'] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get('Messages', [])] == ['new']


@pytest.mark.skipif(moto.__version__ not in moto_patches.PINNED_MOTO_VERSIONS, reason='patch inactive on this moto version')
def test_concurrent_adds_on_one_item_lose_no_update() -> None:
    import threading

    with local_aws():
        # Given one balance item and 8 threads, each adding 1 to it 150 times (as concurrent processors do)
        dynamodb = boto3.client('dynamodb', region_name='us-east-1')
        _table(dynamodb, 'balances')
        key = {'pk': {'S': 'EMP#1'}, 'sk': {'S': 'B'}}

        def add_many() -> None:
            client = boto3.client('dynamodb', region_name='us-east-1')
            for _ in range(150):
                client.update_item(TableName='balances', Key=key, UpdateExpression='ADD available :one',
                                   ExpressionAttributeValues={':one': {'N': '1'}})

        threads = [threading.Thread(target=add_many) for _ in range(8)]
        # When they all run at once
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Then every update counted
        assert dynamodb.get_item(TableName='balances', Key=key)['Item']['available'] == {'N': '1200'}


def test_items_updated_with_new_attributes_while_read_render_whole() -> None:
    import threading

    with local_aws():
        # Given one alert item; writers each adding new attributes to it (as Twilio's callbacks and the sender do) while
        # readers read it and updaters read it back (moto renders the item after its backend call)
        dynamodb = boto3.client('dynamodb', region_name='us-east-1')
        _table(dynamodb, 'alerts')
        key = {'pk': {'S': 'ALERT#1'}, 'sk': {'S': 'A'}}
        dynamodb.put_item(TableName='alerts', Item=key)
        errors: list[BaseException] = []

        def write(n: int) -> None:
            client = boto3.client('dynamodb', region_name='us-east-1')
            try:
                for i in range(150):
                    client.update_item(TableName='alerts', Key=key, UpdateExpression='SET #a = :v', ExpressionAttributeNames={'#a': f'w{n}_{i}'},
                                       ExpressionAttributeValues={':v': {'S': 'x'}}, ReturnValues='ALL_NEW')
            except BaseException as exc:  # noqa: BLE001 - the thread's failure is the test's
                errors.append(exc)

        def read() -> None:
            client = boto3.client('dynamodb', region_name='us-east-1')
            try:
                for _ in range(300):
                    client.get_item(TableName='alerts', Key=key)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(3)] + [threading.Thread(target=read) for _ in range(3)]
        # When they all run at once
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Then no request failed and every attribute landed
        assert errors == []
        assert len(dynamodb.get_item(TableName='alerts', Key=key)['Item']) == 2 + 3 * 150


@pytest.mark.skipif(moto.__version__ not in moto_patches.PINNED_MOTO_VERSIONS, reason='patch inactive on this moto version')
def test_messages_sent_while_others_are_deleted_are_not_lost() -> None:
    import sys
    import threading

    with local_aws():
        # Given a queue holding 800 messages, a thread sending 300 more and two threads receiving and deleting
        # at the same time (a long queue makes moto's unlocked rebuild of its message list slow: a wide window)
        sqs = boto3.client('sqs', region_name='us-east-1')
        url = sqs.create_queue(QueueName='race')['QueueUrl']
        for start in range(0, 800, 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[{'Id': str(n), 'MessageBody': f'old-{n}'} for n in range(start, start + 10)])
        received: set[str] = set()
        sending_done = threading.Event()

        def send() -> None:
            client = boto3.client('sqs', region_name='us-east-1')
            for n in range(300):
                client.send_message(QueueUrl=url, MessageBody=str(n))
            sending_done.set()

        def consume() -> None:
            client = boto3.client('sqs', region_name='us-east-1')
            while True:
                batch = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300).get('Messages', [])
                if not batch and sending_done.is_set():
                    return
                received.update(message['Body'] for message in batch)
                if batch:
                    client.delete_message_batch(QueueUrl=url, Entries=[{'Id': str(i), 'ReceiptHandle': m['ReceiptHandle']}
                                                                       for i, m in enumerate(batch)])

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)  # switch threads often, as a loaded machine does
        try:
            threads = [threading.Thread(target=send), threading.Thread(target=consume), threading.Thread(target=consume)]
            # When both run at once
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            sys.setswitchinterval(interval)

        # Then every message was delivered, and none is left in flight
        assert len(received) == 1100
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes']
        assert attributes['ApproximateNumberOfMessagesNotVisible'] == '0'


@pytest.mark.skipif(moto.__version__ not in moto_patches.PINNED_MOTO_VERSIONS, reason='patch inactive on this moto version')
def test_partition_queries_keep_conditions_order_limits_and_pages() -> None:
    with local_aws():
        # Given a table with three partitions of 25 items each
        dynamodb = boto3.client('dynamodb', region_name='us-east-1')
        _table(dynamodb, 'parts')
        for pk in ('EMP#1', 'EMP#2', 'EMP#3'):
            for n in range(25):
                dynamodb.put_item(TableName='parts', Item={'pk': {'S': pk}, 'sk': {'S': f'ENTRY#{n:03d}'}, 'amount': {'N': str(n)}})
        dynamodb.put_item(TableName='parts', Item={'pk': {'S': 'EMP#2'}, 'sk': {'S': 'BALANCE'}, 'amount': {'N': '1'}})

        def query(**extra: Any) -> list[str]:
            return [item['sk']['S'] for item in dynamodb.query(TableName='parts', **extra)['Items']]

        # When one partition is queried with a key condition, backwards, and in pages of 10
        key: dict[str, Any] = {'KeyConditionExpression': 'pk = :pk AND begins_with(sk, :e)', 'ExpressionAttributeValues': {':pk': {'S': 'EMP#2'}, ':e': {'S': 'ENTRY#'}}}
        forward = query(**key)
        backward = query(**key, ScanIndexForward=False)
        pages: list[str] = []
        start: dict[str, Any] | None = None
        while True:
            paging: dict[str, Any] = {'ExclusiveStartKey': start} if start else {}
            page = dynamodb.query(TableName='parts', Limit=10, **key, **paging)
            pages += [item['sk']['S'] for item in page['Items']]
            start = page.get('LastEvaluatedKey')
            if not start:
                break
        missing = query(KeyConditionExpression='pk = :pk', ExpressionAttributeValues={':pk': {'S': 'EMP#9'}})
        between = query(KeyConditionExpression='pk = :pk AND sk BETWEEN :a AND :b',
                        ExpressionAttributeValues={':pk': {'S': 'EMP#3'}, ':a': {'S': 'ENTRY#005'}, ':b': {'S': 'ENTRY#007'}})

        # Then only that partition's matching items come back, in order, every page once
        expected = [f'ENTRY#{n:03d}' for n in range(25)]
        assert forward == expected
        assert backward == expected[::-1]
        assert pages == expected
        assert missing == []
        assert between == ['ENTRY#005', 'ENTRY#006', 'ENTRY#007']


@pytest.mark.skipif(moto.__version__ not in moto_patches.PINNED_MOTO_VERSIONS, reason='patch inactive on this moto version')
def test_index_queries_read_only_their_partition_and_keep_order_conditions_and_pages() -> None:
    with local_aws():
        # Given the alerts table's sparse `due` index: 60 items in shards 0-2 with due times, 20 without a shard
        dynamodb = boto3.client('dynamodb', region_name='us-east-1')
        table = os.environ['ALERTS_TABLE']
        for n in range(80):
            item = {'pk': {'S': f'ALERT#{n:03d}'}, 'sk': {'S': 'A'}}
            if n < 60:
                item |= {'due_shard': {'S': str(n % 3)}, 'due_at': {'S': f'2026-11-23T10:{59 - n // 3:02d}:00Z'}}
            dynamodb.put_item(TableName=table, Item=item)

        def due(shard: str, until: str, **extra: Any) -> list[str]:
            found: list[str] = []
            start: dict[str, Any] | None = None
            while True:
                paging: dict[str, Any] = {'ExclusiveStartKey': start} if start else {}
                page = dynamodb.query(TableName=table, IndexName='due', KeyConditionExpression='due_shard = :s AND due_at <= :t',
                                      ExpressionAttributeValues={':s': {'S': shard}, ':t': {'S': until}}, **extra, **paging)  # fmt: skip
                found += [item['pk']['S'] for item in page['Items']]
                start = page.get('LastEvaluatedKey')
                if not start:
                    return found

        # When shard 1 is queried up to 10:49, whole and in pages of 4, and an unused shard is queried
        whole = due('1', '2026-11-23T10:49:00Z')
        paged = due('1', '2026-11-23T10:49:00Z', Limit=4)
        empty = due('7', '2026-11-23T23:00:00Z')

        # Then exactly shard 1's items due by then come back, oldest due first, every page once
        expected = [f'ALERT#{n:03d}' for n in range(59, -1, -1) if n % 3 == 1 and 59 - n // 3 <= 49]
        assert whole == expected and len(expected) == 10
        assert paged == expected
        assert empty == []

        # And when, after those queries, items move between shards, leave the index, join it, are deleted, or are written
        # by a transaction that is then cancelled, the next queries see exactly the table as it is
        key = {'sk': {'S': 'A'}}
        dynamodb.update_item(TableName=table, Key={'pk': {'S': 'ALERT#058'}, **key}, UpdateExpression='REMOVE due_shard')
        dynamodb.update_item(TableName=table, Key={'pk': {'S': 'ALERT#055'}, **key}, UpdateExpression='SET due_shard = :s',
                             ExpressionAttributeValues={':s': {'S': '2'}})  # fmt: skip
        dynamodb.put_item(TableName=table, Item={'pk': {'S': 'ALERT#070'}, **key, 'due_shard': {'S': '1'}, 'due_at': {'S': '2026-11-23T10:00:00Z'}})
        dynamodb.delete_item(TableName=table, Key={'pk': {'S': 'ALERT#052'}, **key})
        with pytest.raises(ClientError):
            dynamodb.transact_write_items(TransactItems=[
                {'Update': {'TableName': table, 'Key': {'pk': {'S': 'ALERT#049'}, **key}, 'UpdateExpression': 'SET due_shard = :s',
                            'ExpressionAttributeValues': {':s': {'S': '7'}}}},
                {'ConditionCheck': {'TableName': table, 'Key': {'pk': {'S': 'ALERT#000'}, **key},
                                    'ConditionExpression': 'attribute_not_exists(pk)'}},
            ])  # fmt: skip
        moved = [k for k in expected if k not in ('ALERT#058', 'ALERT#055', 'ALERT#052')]
        assert due('1', '2026-11-23T10:49:00Z') == ['ALERT#070', *moved]
        assert 'ALERT#055' in due('2', '2026-11-23T23:00:00Z')
        assert due('7', '2026-11-23T23:00:00Z') == []


def test_dynamodb_answers_written_as_json_carry_every_attribute_type_back_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: the patched moto, and moto's model-driven serializer watched
    from moto.core.responses import ActionResult

    moto_patches.apply()
    rendered: list[str] = []
    original = ActionResult.execute_result

    def watched(self: Any, context: Any) -> Any:
        rendered.append(context.operation_model.name)
        return original(self, context)

    monkeypatch.setattr(ActionResult, 'execute_result', watched)
    item: dict[str, Any] = {'pk': {'S': 'a'}, 'sk': {'S': '1'}, 'n': {'N': '1.50'}, 'b': {'B': b'\x00\xff'}, 't': {'BOOL': True}, 'z': {'NULL': True},
            'm': {'M': {'x': {'L': [{'S': 'y'}, {'N': '2'}]}}}, 'ss': {'SS': ['a', 'b']}, 'ns': {'NS': ['1', '2']}, 'bs': {'BS': [b'a']},
            'u': {'S': 'ünï € नमस्ते'}}  # fmt: skip
    with mock_aws():
        client = boto3.client('dynamodb', region_name='us-east-1')
        client.create_table(TableName='t', BillingMode='PAY_PER_REQUEST',
                            KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}],
                            AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}, {'AttributeName': 'sk', 'AttributeType': 'S'}])  # fmt: skip
        rendered.clear()
        # When: every data-plane read and write returns the item
        client.put_item(TableName='t', Item=item)
        key = {'pk': {'S': 'a'}, 'sk': {'S': '1'}}
        got = client.get_item(TableName='t', Key=key)['Item']
        queried = client.query(TableName='t', KeyConditionExpression='pk = :p', ExpressionAttributeValues={':p': {'S': 'a'}})['Items']
        batch = client.batch_get_item(RequestItems={'t': {'Keys': [key]}})['Responses']['t']
        transacted = client.transact_get_items(TransactItems=[{'Get': {'TableName': 't', 'Key': key}}])['Responses'][0]['Item']
        updated = client.update_item(TableName='t', Key=key, UpdateExpression='ADD n :one', ExpressionAttributeValues={':one': {'N': '1'}},
                                     ReturnValues='ALL_NEW')['Attributes']  # fmt: skip
        with pytest.raises(client.exceptions.ConditionalCheckFailedException):
            client.put_item(TableName='t', Item=item, ConditionExpression='attribute_not_exists(pk)')
        # Then: the same values, binary as bytes and sets as sets, written without moto's serializer
        sets = ('ss', 'ns', 'bs')
        def normal(values: Any) -> dict[str, Any]:
            return {k: ({t: sorted(v)} if k in sets else {t: v}) for k, tv in dict(values).items() for t, v in dict(tv).items()}

        for found in (got, queried[0], batch[0], transacted):
            assert normal(found) == normal(item)
        assert updated['n'] == {'N': '2.50'} and updated['b'] == {'B': b'\x00\xff'}
        assert rendered == []  # no answer went through moto's model serializer (its errors are JSON of their own)


def test_expressions_parsed_once_per_string_still_bind_each_requests_names_values_and_item() -> None:
    with local_aws():
        # Given two balances and one update and one condition expression, used again and again with other values
        dynamodb = boto3.client('dynamodb', region_name='us-east-1')
        _table(dynamodb, 'exprs')
        update = 'SET #s = :status, history = list_append(if_not_exists(history, :empty), :entry) ADD available :n'
        condition = 'attribute_not_exists(claim) OR claim = :claim'
        for employee, (status, amount) in {'E1': ('a', 5), 'E2': ('b', 7), 'E1 ': ('c', 1)}.items():
            dynamodb.update_item(
                TableName='exprs', Key={'pk': {'S': employee.strip()}, 'sk': {'S': 'B'}}, UpdateExpression=update,
                ConditionExpression=condition, ExpressionAttributeNames={'#s': 'status'},
                ExpressionAttributeValues={':status': {'S': status}, ':n': {'N': str(amount)}, ':empty': {'L': []},
                                           ':entry': {'L': [{'S': status}]}, ':claim': {'S': 'x'}},
            )  # fmt: skip

        # Then each item has its own values applied in order, the second update of E1 on top of the first
        def item(pk: str) -> dict[str, Any]:
            return dict(dynamodb.get_item(TableName='exprs', Key={'pk': {'S': pk}, 'sk': {'S': 'B'}})['Item'])

        assert item('E1')['status'] == {'S': 'c'} and item('E1')['available'] == {'N': '6'}
        assert item('E1')['history'] == {'L': [{'S': 'a'}, {'S': 'c'}]}
        assert item('E2')['status'] == {'S': 'b'} and item('E2')['available'] == {'N': '7'}

        # And when E1 is claimed, the same condition with another claim is refused, and with its own claim holds
        dynamodb.update_item(TableName='exprs', Key={'pk': {'S': 'E1'}, 'sk': {'S': 'B'}}, UpdateExpression='SET claim = :claim',
                             ExpressionAttributeValues={':claim': {'S': 'mine'}})  # fmt: skip
        with pytest.raises(ClientError) as refused:
            dynamodb.update_item(TableName='exprs', Key={'pk': {'S': 'E1'}, 'sk': {'S': 'B'}}, UpdateExpression='SET #s = :status',
                                 ConditionExpression=condition, ExpressionAttributeNames={'#s': 'status'},
                                 ExpressionAttributeValues={':status': {'S': 'd'}, ':claim': {'S': 'other'}})  # fmt: skip
        assert refused.value.response['Error']['Code'] == 'ConditionalCheckFailedException'
        dynamodb.update_item(TableName='exprs', Key={'pk': {'S': 'E1'}, 'sk': {'S': 'B'}}, UpdateExpression='SET #s = :status',
                             ConditionExpression=condition, ExpressionAttributeNames={'#s': 'status'},
                             ExpressionAttributeValues={':status': {'S': 'e'}, ':claim': {'S': 'mine'}})  # fmt: skip
        assert item('E1')['status'] == {'S': 'e'}
        # And a malformed expression is still refused as moto refuses it, however often it is sent
        for _ in range(2):
            with pytest.raises(ClientError) as malformed:
                dynamodb.update_item(TableName='exprs', Key={'pk': {'S': 'E2'}, 'sk': {'S': 'B'}}, UpdateExpression='SET = :v',
                                     ExpressionAttributeValues={':v': {'S': 'x'}})  # fmt: skip
            assert malformed.value.response['Error']['Code'] == 'ValidationException'


def test_the_methods_listed_to_dispatch_a_request_are_moto_own_list_for_every_service() -> None:
    # Given the patched moto, and moto's own way of listing a response class's methods
    from moto.core import responses
    from moto.core.utils import method_names_from_class
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs.responses import SQSResponse

    assert moto_patches.apply()
    # Then the list it dispatches with is moto's own, for each class, however often it is asked
    for handler in (DynamoHandler, SQSResponse, DynamoHandler):
        assert responses.method_names_from_class(handler) == method_names_from_class(handler)
    # And requests to two services still reach their methods
    with local_aws():
        dynamodb = boto3.client('dynamodb', region_name='us-east-1')
        _table(dynamodb, 'names')
        assert 'names' in dynamodb.list_tables()['TableNames']
        sqs = boto3.client('sqs', region_name='us-east-1')
        url = sqs.create_queue(QueueName='names')['QueueUrl']
        sqs.send_message(QueueUrl=url, MessageBody='hello')
        assert [m['Body'] for m in sqs.receive_message(QueueUrl=url).get('Messages', [])] == ['hello']
