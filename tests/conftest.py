"""Test environment: dummy AWS credentials and Powertools settings before anything imports them."""

from __future__ import annotations

import os

os.environ.update(
    {
        'AWS_ACCESS_KEY_ID': 'testing',
        'AWS_SECRET_ACCESS_KEY': 'testing',
        'AWS_SESSION_TOKEN': 'testing',
        'AWS_DEFAULT_REGION': 'us-east-1',
        'AWS_REGION': 'us-east-1',
        'POWERTOOLS_SERVICE_NAME': 'pitcrew-tests',
        'POWERTOOLS_METRICS_NAMESPACE': 'PitcrewTests',
        'POWERTOOLS_TRACE_DISABLED': 'true',
        'POWERTOOLS_DEV': 'false',
        'SECRETS_PREFIX': '/pitcrew/test/sources',
        'STAGE': 'test',
    }
)
for variable in ('AWS_ENDPOINT_URL', 'AWS_PROFILE'):
    os.environ.pop(variable, None)
