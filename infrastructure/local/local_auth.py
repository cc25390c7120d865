"""What API Gateway does in front of an HTTP API's functions, for the local stack: the JWT authorizer (RS256 token
verified against the user pool's JWKS, `iss`, `aud` or `client_id`, `exp`/`nbf`/`iat`; 401 `{"message":"Unauthorized"}`
before any function runs; the claims handed over as strings) and CORS (preflights answered from the API's
CorsConfiguration; the allowed origin added to every answer). Both are read from template.yaml, so local runs and tests
cannot drift from what is deployed. Also the people page's static files (infrastructure/web/) and its local config.json.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from infrastructure.local.template_resources import template_resources

UNAUTHORIZED = b'{"message":"Unauthorized"}'
WEB_ROOT = Path(__file__).resolve().parents[1] / 'web'


class Unauthorized(Exception):
    """The token is missing or not valid for the authorizer (API Gateway answers 401 and invokes nothing)."""


def resolve(value: Any, known: Mapping[str, str]) -> Any:
    """A template value with Ref / Fn::Sub / Fn::GetAtt resolved to the local physical values in `known` (logical id,
    `Logical.Attribute` or pseudo parameter -> value). An unknown reference is an error (the emulation would be wrong)."""
    if isinstance(value, list):
        return [resolve(v, known) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {'Ref'}:
        return known[value['Ref']]
    if set(value) == {'Fn::GetAtt'}:
        target = value['Fn::GetAtt']
        return known['.'.join(target) if isinstance(target, list) else target]
    if set(value) == {'Fn::Sub'}:
        text = value['Fn::Sub'] if isinstance(value['Fn::Sub'], str) else value['Fn::Sub'][0]
        return re.sub(r'\$\{([^}!]+)\}', lambda m: known[m.group(1)], text)
    return {k: resolve(v, known) for k, v in value.items()}


@dataclass(frozen=True)
class JwtAuthorizer:
    """An HTTP API's JWT authorizer as API Gateway applies it."""

    name: str
    issuer: str
    audiences: tuple[str, ...]
    jwks: Mapping[str, Any]
    header: str = 'authorization'
    clock: Callable[[], float] = time.time

    def claims(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The verified token's claims; Unauthorized when it is missing or not valid."""
        lowered = {k.lower(): v for k, v in headers.items()}
        token = (lowered.get(self.header) or '').strip()
        if token[:7].lower() == 'bearer ':
            token = token[7:].strip()
        if not token:
            raise Unauthorized('no token')
        try:
            header = jwt.get_unverified_header(token)
            if header.get('alg') != 'RS256':
                raise Unauthorized('not RS256')
            keys = [k for k in self.jwks.get('keys', []) if k.get('kid') == header.get('kid')]
            if not keys:
                raise Unauthorized('unknown kid')
            key = jwt.PyJWK.from_dict(keys[0], algorithm='RS256')
            # Signature and issuer here; the times below, on this authorizer's clock.
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=['RS256'], issuer=self.issuer,
                options={'verify_aud': False, 'require': ['exp', 'iss'], 'verify_exp': False, 'verify_iat': False, 'verify_nbf': False},
            )  # fmt: skip
        except jwt.PyJWTError as error:
            raise Unauthorized(type(error).__name__) from error
        now = self.clock()
        if float(claims['exp']) <= now or float(claims.get('nbf', 0)) > now or float(claims.get('iat', 0)) > now + 1:
            raise Unauthorized('outside its validity')
        # API Gateway: `aud` must match one of the audiences; only when there is no `aud`, `client_id` must.
        if 'aud' in claims:
            audiences = claims['aud'] if isinstance(claims['aud'], list) else [claims['aud']]
            if not set(map(str, audiences)) & set(self.audiences):
                raise Unauthorized('audience')
        elif str(claims.get('client_id', '')) not in self.audiences:
            raise Unauthorized('client_id')
        return claims


def claim_text(value: Any) -> str:
    """A claim as API Gateway (HTTP API, payload 2.0) hands it to the function: a string; a list as `[a b]`."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, list):
        return '[' + ' '.join(claim_text(v) for v in value) + ']'
    if isinstance(value, dict):
        return json.dumps(value, separators=(',', ':'))
    return str(value)


def authorizer_context(claims: Mapping[str, Any]) -> dict[str, Any]:
    """requestContext.authorizer of an event whose token the JWT authorizer accepted."""
    return {'jwt': {'claims': {name: claim_text(value) for name, value in claims.items()}, 'scopes': None}}


@dataclass(frozen=True)
class Cors:
    """An HTTP API's CorsConfiguration as API Gateway applies it."""

    origins: tuple[str, ...]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    expose: tuple[str, ...]
    max_age: int | None
    credentials: bool

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and ('*' in self.origins or origin in self.origins)

    def answer_headers(self, origin: str | None) -> dict[str, str]:
        """Headers added to an answer to a request from `origin` (none for an origin that is not allowed)."""
        if not origin or not self.allows(origin):
            return {}
        found = {'Access-Control-Allow-Origin': '*' if '*' in self.origins and not self.credentials else str(origin)}
        if self.expose:
            found['Access-Control-Expose-Headers'] = ','.join(self.expose)
        if self.credentials:
            found['Access-Control-Allow-Credentials'] = 'true'
        found['Vary'] = 'Origin'
        return found

    def preflight(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The headers of API Gateway's 204 answer to an OPTIONS preflight: none unless the origin and method are allowed."""
        lowered = {k.lower(): v for k, v in headers.items()}
        origin, method = lowered.get('origin'), (lowered.get('access-control-request-method') or '').upper()
        if not self.allows(origin) or not method or ('*' not in self.methods and method not in self.methods):
            return {}
        requested = [h.strip() for h in (lowered.get('access-control-request-headers') or '').split(',') if h.strip()]
        allowed = {h.lower() for h in self.headers}
        if '*' not in self.headers and any(h.lower() not in allowed for h in requested):
            return {}
        found = self.answer_headers(origin)
        found.pop('Access-Control-Expose-Headers', None)
        found['Access-Control-Allow-Methods'] = ','.join(self.methods)
        found['Access-Control-Allow-Headers'] = ','.join(self.headers)
        if self.max_age is not None:
            found['Access-Control-Max-Age'] = str(self.max_age)
        return found


@dataclass(frozen=True)
class ApiGate:
    """What API Gateway applies to one HTTP API's routes before its functions: authorizers by name, and CORS."""

    api: str
    default_authorizer: str | None
    authorizers: Mapping[str, JwtAuthorizer]
    cors: Cors | None

    def authorizer_for(self, route_auth: Mapping[str, Any] | None) -> JwtAuthorizer | None:
        """A route's authorizer: its own Auth.Authorizer, else the API's default; NONE (or IAM, not emulated): none."""
        name = (route_auth or {}).get('Authorizer', self.default_authorizer)
        return self.authorizers.get(str(name)) if name else None


def api_gate(api: str, known: Mapping[str, str], jwks: Mapping[str, Any], cors_origins: tuple[str, ...] | None = None,
             clock: Callable[[], float] = time.time) -> ApiGate:  # fmt: skip
    """The gate of the template's AWS::Serverless::HttpApi `api`, its references resolved with `known`. `cors_origins`:
    the local page's origins in place of the template's (which name the CloudFront distribution or a parameter)."""
    props = template_resources()[api].get('Properties', {})
    auth = props.get('Auth') or {}
    authorizers = {}
    for name, config in (auth.get('Authorizers') or {}).items():
        jwt_config = config.get('JwtConfiguration')
        if not jwt_config:
            continue
        identity = str(config.get('IdentitySource', '$request.header.Authorization'))
        authorizers[name] = JwtAuthorizer(
            name, str(resolve(jwt_config['issuer'], known)), tuple(str(a) for a in resolve(jwt_config.get('audience', []), known)), jwks,
            header=identity.removeprefix('$request.header.').lower(), clock=clock,
        )  # fmt: skip
    cors = None
    config = props.get('CorsConfiguration')
    if isinstance(config, dict):
        origins = cors_origins if cors_origins is not None else tuple(str(o) for o in resolve(config.get('AllowOrigins', []), known))
        cors = Cors(origins, tuple(config.get('AllowMethods', [])), tuple(config.get('AllowHeaders', [])),
                    tuple(config.get('ExposeHeaders', [])), int(config['MaxAge']) if 'MaxAge' in config else None,
                    bool(config.get('AllowCredentials', False)))  # fmt: skip
    return ApiGate(api, auth.get('DefaultAuthorizer'), authorizers, cors)


def moto_jwks() -> dict[str, Any]:
    """The public keys moto signs every user pool's tokens with (what it serves at /<pool id>/.well-known/jwks.json)."""
    from moto.utilities.utils import load_resource

    return dict(load_resource('cognitoidp/resources/jwks-public.json'))


# --- the people page ---------------------------------------------------------------------------
def static_file(path: str, root: Path = WEB_ROOT) -> tuple[bytes, str] | None:
    """(content, content type) of the page's file at URL path `path` (`/` -> index.html); None if there is none."""
    from infrastructure.web_publish import content_type

    relative = path.lstrip('/') or 'index.html'
    if relative.endswith('/'):
        relative += 'index.html'
    base = root.resolve()
    try:
        target = (base / relative).resolve()
    except (OSError, ValueError):
        return None
    kind = content_type(target)
    if not target.is_relative_to(base) or not target.is_file() or kind is None:
        return None
    if any(part.startswith('.') for part in target.relative_to(base).parts):
        return None
    return target.read_bytes(), kind


def page_headers(cognito_endpoint: str, region: str) -> dict[str, str]:
    """The security headers CloudFront adds to the page (the template's WebResponseHeadersPolicy), for the local page:
    the same Content-Security-Policy, with the local Cognito endpoint allowed to be fetched (the API is the page's own
    origin locally, 'self'); no HSTS (plain http on 127.0.0.1)."""
    policy = template_resources()['WebResponseHeadersPolicy']['Properties']['ResponseHeadersPolicyConfig']
    security = policy.get('SecurityHeadersConfig', {})
    headers: dict[str, str] = {}
    csp = security.get('ContentSecurityPolicy')
    if csp:
        text = str(resolve(csp['ContentSecurityPolicy'], {'AWS::Region': region, 'AWS::URLSuffix': 'amazonaws.com'}))
        directives = [' '.join(part.split()) for part in text.split(';') if part.strip()]
        directives = [f'{d} {cognito_endpoint}' if d.split()[0] == 'connect-src' else d for d in directives]
        headers['Content-Security-Policy'] = '; '.join(directives)
    if 'ContentTypeOptions' in security:
        headers['X-Content-Type-Options'] = 'nosniff'
    if 'FrameOptions' in security:
        headers['X-Frame-Options'] = str(security['FrameOptions']['FrameOption'])
    if 'ReferrerPolicy' in security:
        headers['Referrer-Policy'] = str(security['ReferrerPolicy']['ReferrerPolicy'])
    for item in (policy.get('CustomHeadersConfig') or {}).get('Items', []):
        headers[str(item['Header'])] = str(item['Value'])
    return headers
