"""The local stack's moto patch keeps DynamoDB transaction semantics: all or nothing."""

from __future__ import annotations

import boto3
import moto
import pytest
from botocore.exceptions import ClientError

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
