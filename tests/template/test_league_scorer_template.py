"""Infrastructure tests for the league scorer in template.yaml: it reads the ledger's stream as designed (batches, window,
partial failures, bisect, retries, dead letters), its DynamoDB grants are exactly the calls the code makes (recorded on
moto: new people, a redelivery, a late entry after a close marker, a level and a badge with their notices, an unreadable
record quarantined), and every
grant is confined to the partitions the code touches."""

from __future__ import annotations

import copy
import os
from datetime import timedelta
from functools import lru_cache
from typing import Any

from infrastructure.local.template_resources import TABLE_ENV
from shared.alerts.store import AlertStore
from shared.directory.contacts import ContactBook
from shared.directory.employees import parse_export
from shared.directory.store import DirectoryStore
from shared.leagues.live import close_marker_key, parse_record
from shared.leagues.live_store import LiveStore
from shared.leagues.scorer import LeagueScorer
from shared.programs.loader import ProgramBook
from shared.recognition.nudge_service import Nudger
from shared.recognition.nudge_store import NudgeStore
from tests.integration.test_league_live import DIRECTORY, LEAGUES, NOV_2, OCT, WORKSHOP, Env, award
from tests.support.counting import record_requests
from tests.support.local_aws import local_aws
from tests.template.test_period_close_template import RESOURCES, dynamodb_grants, needed, statements

FUNCTION = 'LeagueScorerFunction'
BOOK = ProgramBook.of(WORKSHOP)


@lru_cache(maxsize=1)
def recorded_calls() -> list[tuple[str, str, dict[str, Any], Any]]:
    """Every request of: two people's first entries (T1 reaching a level and a badge), the batch delivered again, an
    October entry recorded in November before the close (its marker checked absent), and a late October entry after
    October's close marker."""
    with local_aws() as aws:
        DirectoryStore().import_rows(parse_export(DIRECTORY, 'csv'), OCT - timedelta(days=30))
        store, alerts = LiveStore(), AlertStore()
        env = Env(aws, store, alerts, LeagueScorer(store, alerts, leagues=lambda: LEAGUES))
        env.kpi('T1', '2026-10', 5)
        # T1's manager, so the level and badge are nudged (the managers' nudges run in the scorer's invocation).
        DirectoryStore().import_rows(parse_export('employee_id,name,role,location_id,region\nM2,Meera,manager,IN-PNQ-01,IN-West\n', 'csv'),
                                     OCT - timedelta(days=30), deactivate_missing=False)  # fmt: skip
        nudger = Nudger(NudgeStore(), ContactBook(), alerts, programs=lambda: BOOK)

        def score(batch: list[dict[str, Any]] | None = None) -> None:
            entries = [parsed for parsed in map(parse_record, batch if batch is not None else env.records()) if parsed is not None]
            nudger.after_scoring(entries, env.scorer.apply(entries, OCT).achievements, OCT)

        env.write(award('T1', 1200), award('T1', 20, rule='csat_positive', inputs={'csat': 5}), award('T2', 15))
        records = env.records()
        pk, sk = close_marker_key('pitstop', '2026-10')
        with record_requests() as sent:
            score(records)
            score(records)
            env.write(award('T1', 5, recorded=NOV_2))  # October's, recorded after October ended: the marker is checked
            score()
            aws.dynamodb.put_item(TableName=os.environ['LEAGUES_TABLE'], Item={'pk': {'S': pk}, 'sk': {'S': sk}})
            env.write(award('T2', 10, recorded=NOV_2))
            score()
            # An unreadable record: the handler keeps it in the quarantine and goes on.
            from functions.league_scorer.app import entries_of

            entries_of([{'eventID': 'poison', 'eventName': 'INSERT', 'dynamodb': {'SequenceNumber': '1', 'NewImage': {'entry': {'S': '{'}}}}])
        return [call for call in sent if not (call[1] in ('PutItem', 'GetItem') and call[2].get('TableName') == os.environ['LEDGER_TABLE'])
                and not (call[1] == 'PutItem' and call[2]['Item']['pk']['S'].startswith('CLOSE#'))]  # fmt: skip


def grant_problems(function: dict[str, Any]) -> list[str]:
    need, granted = needed(recorded_calls()), dynamodb_grants(function)
    problems = [f'the code calls {action} on {label}, not granted' for action, label in sorted(need - granted)]
    problems += [f'granted {action} on {label}, never called' for action, label in sorted(granted - need)]
    return problems


def test_dynamodb_grants_are_exactly_the_calls_the_scorer_makes() -> None:
    # Given: the scorer's DynamoDB requests (recorded on moto), without the test's own ledger writes and close marker
    # When: comparing them with the function's grants
    # Then: every call is granted and every grant is used; the recording covers the marker check and the notices
    assert grant_problems(RESOURCES[FUNCTION]) == []
    assert needed(recorded_calls()) >= {('dynamodb:ConditionCheckItem', 'LeaguesTable'), ('dynamodb:PutItem', 'AlertsTable'),
                                        ('dynamodb:BatchGetItem', 'DirectoryTable'), ('dynamodb:BatchGetItem', 'KpiTable')}


def _pk(body: dict[str, Any]) -> str:
    return str((body.get('Key') or body.get('Item') or {})['pk']['S'])


def _touched(params: dict[str, Any], operation: str) -> list[tuple[str, str]]:
    """(table, pk) of every item a request touches."""
    if operation == 'BatchGetItem':
        return [(table, key['pk']['S']) for table, request in params['RequestItems'].items() for key in request['Keys']]
    if operation == 'TransactWriteItems':
        return [(body['TableName'], _pk(body)) for item in params['TransactItems'] for body in item.values()]
    return [(params['TableName'], _pk(params))]


def leading_key_problems(function: dict[str, Any]) -> list[str]:
    logical = {os.environ.get(env, default): logical_id for logical_id, (env, default) in TABLE_ENV.items()}
    prefixes: dict[str, list[str]] = {}
    for statement in statements(function):
        resource = statement['Resource']
        if isinstance(resource, dict) and 'Fn::GetAtt' in resource and str(statement.get('Action', '')).find('dynamodb') >= 0:
            allowed = statement.get('Condition', {}).get('ForAllValues:StringLike', {}).get('dynamodb:LeadingKeys')
            if not allowed:
                return [f'{statement["Sid"]}: no dynamodb:LeadingKeys condition on {resource["Fn::GetAtt"][0]}']
            prefixes.setdefault(resource['Fn::GetAtt'][0], []).extend(str(p).rstrip('*') for p in allowed)
    problems = []
    for service, operation, params, _ in recorded_calls():
        if service != 'dynamodb':
            continue
        for table, pk in _touched(params, operation):
            label = logical.get(table, table)
            if not any(pk.startswith(p) for p in prefixes.get(label, [])):
                problems.append(f'{operation} on {label} partition {pk} is outside the granted partitions')
    return problems


def test_every_grant_is_confined_to_the_partitions_the_scorer_touches() -> None:
    # Given: the recorded requests and the grants' dynamodb:LeadingKeys conditions
    # Then: scores, histograms, lifetimes and close markers in the leagues table; profiles in EMP#; KPI months in
    # employee#; notices in ALERT#
    assert leading_key_problems(RESOURCES[FUNCTION]) == []


def test_the_guards_catch_a_query_grant_and_a_grant_on_the_wrong_partitions() -> None:
    # Given: the function with a Query on the board index added, or its profile reads confined to agent mappings
    with_query = copy.deepcopy(RESOURCES[FUNCTION])
    with_query['Properties']['Policies'][0]['Statement'].append(
        {'Effect': 'Allow', 'Action': 'dynamodb:Query', 'Resource': {'Fn::Sub': '${LeaguesTable.Arn}/index/board'}})
    wrong = copy.deepcopy(RESOURCES[FUNCTION])
    for statement in wrong['Properties']['Policies'][0]['Statement']:
        if statement.get('Sid') == 'ReadProfiles':
            statement['Condition']['ForAllValues:StringLike']['dynamodb:LeadingKeys'] = ['AGENT#*']
    # When / Then: the guards report them
    assert grant_problems(with_query) and leading_key_problems(wrong)


def test_reads_the_ledger_stream_in_batches_with_partial_failures_retries_and_dead_letters() -> None:
    # Given: the function's event source
    (event,) = RESOURCES[FUNCTION]['Properties']['Events'].values()
    props = event['Properties']
    # Then: the ledger's stream, 100 records or 5 s, partial batch failures and bisection, bounded retries, then the DLQ
    assert (event['Type'], props['Stream'], props['StartingPosition']) == ('DynamoDB', {'Fn::GetAtt': ['LedgerTable', 'StreamArn']}, 'TRIM_HORIZON')
    assert (props['BatchSize'], props['MaximumBatchingWindowInSeconds'], props['FunctionResponseTypes']) == (100, 5, ['ReportBatchItemFailures'])
    assert props['BisectBatchOnFunctionError'] is True and 0 < props['MaximumRetryAttempts'] <= 20
    assert props['DestinationConfig']['OnFailure'] == {'Type': 'SQS', 'Destination': {'Fn::GetAtt': ['LeagueStreamDLQ', 'Arn']}}
    sends = [s for s in statements(RESOURCES[FUNCTION]) if s.get('Action') == 'sqs:SendMessage']
    assert [s['Resource'] for s in sends] == [{'Fn::GetAtt': ['LeagueStreamDLQ', 'Arn']}]


def test_the_ledger_stream_carries_new_images_and_the_recording_covers_a_late_entry() -> None:
    # Given: the ledger table's stream and the recorded reads
    months = {key['sk']['S'] for _, op, params, _ in recorded_calls() if op == 'BatchGetItem'
              for key in params['RequestItems'].get(os.environ['LEAGUES_TABLE'], {}).get('Keys', []) if key['pk']['S'] == 'S#pitstop#T2'}
    # Then: the stream carries the new item (the entry, all the scorer reads), and the late entry's two months were read
    assert RESOURCES['LedgerTable']['Properties']['StreamSpecification'] == {'StreamViewType': 'NEW_IMAGE'}
    assert months >= {'2026-10', '2026-11'}
