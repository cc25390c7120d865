# placeholder: replaced by the routes branch
"""The people API's team routes (design15.md): a placeholder so that the template's handler imports; answers 501."""

from __future__ import annotations

import json
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = {'ok': False, 'error': 'not implemented', 'route': event.get('routeKey')}
    return {'statusCode': 501, 'headers': {'Content-Type': 'application/json'}, 'body': json.dumps(body)}
