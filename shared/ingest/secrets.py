"""Per-source webhook secrets from SSM Parameter Store (SecureString JSON), cached per container.

Parameter `<SECRETS_PREFIX>/<source>` = {"secret": "...", "organization_id": "...", "previous_secret": "..."}.
Never from environment variables, never logged.
"""

from __future__ import annotations

from typing import Any, Protocol

from shared.config import get_settings
from shared.errors import UnknownSource
from shared.sources.base import SourceSecret


class SecretProvider(Protocol):
    def get(self, source: str) -> SourceSecret: ...


class SsmSecretProvider:
    def __init__(self, prefix: str | None = None, max_age_s: int | None = None) -> None:
        settings = get_settings()
        self.prefix = (prefix or settings.SECRETS_PREFIX).rstrip('/')
        self.max_age_s = settings.SECRETS_MAX_AGE_S if max_age_s is None else max_age_s

    def get(self, source: str) -> SourceSecret:
        from aws_lambda_powertools.utilities import parameters
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

        name = f'{self.prefix}/{source}'
        try:
            value: Any = parameters.get_parameter(name, decrypt=True, transform='json', max_age=self.max_age_s)
        except GetParameterError as exc:
            if 'ParameterNotFound' in str(exc):
                raise UnknownSource(f'source {source!r} is not configured (no secret parameter)', field='source') from exc
            raise
        except TransformParameterError as exc:
            raise RuntimeError(f'secret parameter for {source} is not valid JSON') from exc
        if not isinstance(value, dict) or not value.get('secret'):
            raise RuntimeError(f'secret parameter for {source} has no "secret" key')
        return SourceSecret(
            secret=str(value['secret']),
            organization_id=value.get('organization_id'),
            previous_secret=value.get('previous_secret'),
        )
