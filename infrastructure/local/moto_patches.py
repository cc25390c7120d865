"""Local-stack-only fix for moto's TransactWriteItems cost.

moto 5.2.x snapshots every table a transaction touches with `copy.deepcopy(table)` before applying
it, so each transaction costs time proportional to the size of the tables (measured here: 16 ms per
transaction at 100 items, 161 ms at 3,000). A month of events makes that quadratic.

This patch keeps moto's semantics (all-or-nothing, conditions evaluated per action, cancellation
reasons in order, ALL_OLD items on condition failure, one action per item) but snapshots only the
items the transaction touches, and restores exactly those on rollback. It is applied only by the
local stack and the tests, only to the moto version it was written against; any other version keeps
moto's own implementation (slow but correct).
"""

from __future__ import annotations

import copy
from typing import Any

PINNED_MOTO_VERSIONS = ('5.2.5',)
_applied = False


def apply() -> bool:
    """Install the patch if the installed moto is a pinned version. Returns whether it is active."""
    global _applied
    if _applied:
        return True
    import moto
    from moto.dynamodb.models import DynamoDBBackend

    if moto.__version__ not in PINNED_MOTO_VERSIONS:
        return False
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    _applied = True
    return True


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models.dynamo_type import DynamoType

    if len(transact_items) > 100:
        raise TooManyTransactionsException()

    snapshots: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, deep copy of the item or None)

    def snapshot(table: Any, key: dict[str, Any]) -> None:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
        current = table.get_item(hash_value, range_value)
        snapshots.append((table, hash_value, range_value, copy.deepcopy(current)))

    def rollback() -> None:
        for table, hash_value, range_value, original in reversed(snapshots):
            if range_value is not None:
                if original is None:
                    table.items[hash_value].pop(range_value, None)
                    if not table.items[hash_value]:
                        table.items.pop(hash_value, None)
                else:
                    table.items[hash_value][range_value] = original
            elif original is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = original

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {'ConditionCheck', 'Put', 'Delete', 'Update'}:
                raise ValueError('Unsupported transaction operation')
            table_name = op['TableName']
            condition_expression = op.get('ConditionExpression')
            names = op.get('ExpressionAttributeNames')
            values = op.get('ExpressionAttributeValues')
            return_old = op.get('ReturnValuesOnConditionCheckFailure')
            table = self.get_table(table_name)
            if op_type == 'Put':
                attrs = op['Item']
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op['Key']
            check_unicity(table_name, key)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if return_old == 'ALL_OLD' and current:
                        original_item = current.to_json()['Attributes']
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != 'ConditionCheck':
                snapshot(table, key)
            if op_type == 'Put':
                self.put_item(table_name, op['Item'], condition_expression=condition_expression,
                              expression_attribute_names=names, expression_attribute_values=values)
            elif op_type == 'Delete':
                self.delete_item(table_name, key, condition_expression=condition_expression,
                                 expression_attribute_names=names, expression_attribute_values=values)
            elif op_type == 'Update':
                self.update_item(table_name, key, update_expression=op['UpdateExpression'],
                                 condition_expression=condition_expression,
                                 expression_attribute_names=names, expression_attribute_values=values)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(('ConditionalCheckFailed', str(e.message), original_item))
        except Exception as e:  # noqa: BLE001 - mirrors moto: other failures become cancellation reasons
            errors.append((type(e).__name__, str(e), original_item))

    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)
