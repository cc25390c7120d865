"""Salesforce Service Cloud: REST `GET /services/data/<version>/sobjects/Case/{id}`, the Case's first outgoing
EmailMessage and its completed First Response milestone (SOQL through `/query`), with an OAuth bearer token.

The token is either stored as is (`access_token`) or minted with the client-credentials flow of a connected app
(`client_id`, `client_secret`: `POST /services/oauth2/token`), and minted again once when the API answers 401.
Salesforce limits API requests per org per rolling 24 h (Sforce-Limit-Info: api-usage=used/limit); an exhausted
allowance answers 403 REQUEST_LIMIT_EXCEEDED, which sends the event back to the queue like a 429.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shared.events import Source
from shared.sources.salesforce import ORIGINS, PRIORITIES, USER_ID_PREFIX, _status
from shared.verify.base import ApiClient, ApiCredentials, ApiResponse, HelpdeskTicket, SourceApiUnavailable, parse_api_datetime

_CASE_ID = re.compile(r'500[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?')  # 15 or 18 characters, key prefix 500 (Case)
VERSION = 'v60.0'
FIRST_RESPONSE_MILESTONE = 'First Response'


def _records(response: ApiResponse) -> list[dict[str, Any]]:
    if response.status != 200 or not isinstance(response.body, dict):
        return []  # e.g. 400 INVALID_TYPE: an org without Entitlements has no CaseMilestone
    records = response.body.get('records')
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


class SalesforceApi:
    name: str = Source.SALESFORCE.value
    requests_per_second: float = 15_000 / 86_400  # the smallest org allowance, 15,000 a day, paced evenly
    burst: int = 300

    def __init__(self, version: str = VERSION) -> None:
        self.version = version

    def auth_headers(self, credentials: ApiCredentials, token: str | None) -> dict[str, str]:
        return {'Authorization': f'Bearer {token or credentials.access_token or ""}'}

    def fetch_token(self, credentials: ApiCredentials, post: Any) -> str | None:
        if not (credentials.client_id and credentials.client_secret):
            return credentials.access_token
        answer = post(f'{credentials.base_url.rstrip("/")}/services/oauth2/token', {
            'grant_type': 'client_credentials', 'client_id': credentials.client_id, 'client_secret': credentials.client_secret})
        token = answer.get('access_token') if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceApiUnavailable('the Salesforce token endpoint returned no access_token')
        return token

    def fetch(self, external_id: str, api: ApiClient) -> HelpdeskTicket | None:
        if not _CASE_ID.fullmatch(external_id):
            return None  # not a Case id: nothing to ask (and nothing unchecked ever reaches a SOQL string)
        base = f'/services/data/{self.version}'
        response = api.get(f'{base}/sobjects/Case/{external_id}')
        if response.status == 403:
            raise SourceApiUnavailable('Salesforce refused the request (403: API request limit or permissions)')
        if response.status == 404 or not isinstance(response.body, dict):
            return None
        case = response.body
        case_id = str(case.get('Id') or external_id)
        emails = _records(api.get(f'{base}/query', {'q': (
            f"SELECT MessageDate FROM EmailMessage WHERE ParentId = '{case_id}' AND Incoming = false "
            'ORDER BY MessageDate ASC LIMIT 1')}))
        milestones = _records(api.get(f'{base}/query', {'q': (
            f"SELECT CompletionDate FROM CaseMilestone WHERE CaseId = '{case_id}' AND IsCompleted = true "
            f"AND MilestoneType.Name = '{FIRST_RESPONSE_MILESTONE}' ORDER BY CompletionDate ASC LIMIT 1")}))
        replies: list[datetime] = [moment for moment in (
            *(parse_api_datetime(r.get('MessageDate')) for r in emails),
            *(parse_api_datetime(r.get('CompletionDate')) for r in milestones),
        ) if moment is not None]
        owner = case.get('OwnerId')
        is_closed = case.get('IsClosed') if isinstance(case.get('IsClosed'), bool) else None
        status = _status(case.get('Status') if isinstance(case.get('Status'), str) else None, is_closed)
        priority, origin = case.get('Priority'), case.get('Origin')
        keys: tuple[str, ...] = (owner.lower(),) if isinstance(owner, str) and owner.startswith(USER_ID_PREFIX) else ()
        # 15- and 18-character forms of the same user id: the webhook may carry either.
        keys = keys + tuple(key[:15] for key in keys if len(key) == 18)
        return HelpdeskTicket(
            external_id=external_id,
            status=status,
            assignee_keys=keys,
            created_at=parse_api_datetime(case.get('CreatedDate')),
            first_response_at=min(replies, default=None),
            resolved_at=parse_api_datetime(case.get('ClosedDate')) if is_closed else None,
            priority=PRIORITIES.get(priority.lower()) if isinstance(priority, str) else None,
            channel=ORIGINS.get(origin.lower()) if isinstance(origin, str) else None,
        )


adapter = SalesforceApi()
