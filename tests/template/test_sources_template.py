"""Every registered source is reachable as deployed: the webhook function answers `POST /webhooks/{source}` on the
webhooks API for any source name (the adapter registry decides which exist, unknown names get 404), and may read
each source's secret under `/pitcrew/<stage>/sources/`. A new source (lms, quality, safety) needs no new route."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.sources import ADAPTER_NAMES

from .test_template import RESOURCES

WEBHOOK = 'WebhookIngestFunction'
SECRETS_ARN = 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/pitcrew/${Stage}/sources/*'


def source_route_problems(resources: dict[str, Any]) -> list[str]:
    function = resources[WEBHOOK]['Properties']
    routes = [
        (str(event['Properties'].get('Method')).upper(), event['Properties'].get('Path'), event['Properties'].get('ApiId'))
        for event in function.get('Events', {}).values()
        if event.get('Type') == 'HttpApi'
    ]
    problems = []
    if routes != [('POST', '/webhooks/{source}', {'Ref': 'WebhooksApi'})]:
        problems.append(f'{WEBHOOK} routes are {routes}, not one POST /webhooks/{{source}} on WebhooksApi')
    statements = [s for policy in function.get('Policies', []) if isinstance(policy, dict) for s in policy.get('Statement', [])]
    reads = [s for s in statements if 'ssm:GetParameter' in (s.get('Action') if isinstance(s.get('Action'), list) else [s.get('Action')])]
    if not any(s.get('Resource') == {'Fn::Sub': SECRETS_ARN} for s in reads):
        problems.append(f'{WEBHOOK} cannot read the source secrets under /pitcrew/<stage>/sources/*')
    return problems


def test_one_route_and_one_secret_path_serve_every_registered_source() -> None:
    # Given the registry, which includes the LMS, QA and safety sources
    assert {'lms', 'quality', 'safety'} <= set(ADAPTER_NAMES)

    # When / Then the template routes any source name to the webhook function and lets it read every source's secret
    assert source_route_problems(RESOURCES) == []


@pytest.mark.parametrize('breakage', ['literal-route', 'second-route', 'narrowed-secrets'])
def test_route_guard_catches_a_narrowed_source_route(breakage: str) -> None:
    # Given a copy of the template where the route or the secret grant no longer covers every source
    resources = copy.deepcopy(RESOURCES)
    function = resources[WEBHOOK]['Properties']
    event = next(iter(function['Events'].values()))
    if breakage == 'literal-route':
        event['Properties']['Path'] = '/webhooks/zendesk'
    elif breakage == 'second-route':
        # A literal route wins over {source} in API Gateway and carries no `source` path parameter: the handler
        # would answer 404 to that sender.
        function['Events']['Lms'] = {
            'Type': 'HttpApi',
            'Properties': {'ApiId': {'Ref': 'WebhooksApi'}, 'Path': '/webhooks/lms', 'Method': 'POST'},
        }
    else:
        for policy in function['Policies']:
            for statement in policy.get('Statement', []):
                if statement.get('Resource') == {'Fn::Sub': SECRETS_ARN}:
                    statement['Resource'] = {'Fn::Sub': SECRETS_ARN.replace('sources/*', 'sources/zendesk')}

    # When / Then the guard reports it
    assert source_route_problems(resources)
