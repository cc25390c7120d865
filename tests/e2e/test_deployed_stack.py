"""Opt-in: against a deployed stack. Set PITCREW_E2E_API_URL (the WebhookBaseUrl output) and
PITCREW_E2E_ZENDESK_SECRET (the value stored in SSM for zendesk); otherwise these tests are skipped."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest

API = os.environ.get('PITCREW_E2E_API_URL')
SECRET = os.environ.get('PITCREW_E2E_ZENDESK_SECRET')
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not (API and SECRET), reason='no deployed stack configured')]


def _post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(f'{API}/{path}', data=body, headers=headers, method='POST')
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b'{}')
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b'{}')


def test_signed_zendesk_webhook_is_accepted_and_a_forged_one_refused() -> None:
    # Given a Zendesk-shaped body signed with the stack's secret, and the same body signed with a wrong one
    body = json.dumps({'source': 'zendesk', 'ticket': {'id': 990001, 'status': 'Open', 'priority': 'Normal', 'via': 'Mail',
                                                       'created_at': '2024-05-14T09:12Z', 'updated_at': '2024-05-14T09:12Z'}}).encode()
    ts = datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')

    def headers(secret: str) -> dict[str, str]:
        signature = base64.b64encode(hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest()).decode()
        return {'Content-Type': 'application/json', 'X-Zendesk-Webhook-Signature': signature, 'X-Zendesk-Webhook-Signature-Timestamp': ts}

    # When both are posted
    ok_status, _ = _post('zendesk', body, headers(str(SECRET)))
    bad_status, bad_body = _post('zendesk', body, headers('forged'))

    # Then the first is accepted and the second refused and quarantined
    assert ok_status == 200
    assert bad_status == 401 and bad_body['quarantine_id'].startswith('q-')
