"""Publish the people page (issue 15) after `sam deploy`: upload infrastructure/web/ to the stack's WebBucket, write
its config.json from the stack's outputs, and invalidate WebDistribution so that the new files are served.

    python -m infrastructure.web_publish --stack-name pitcrew            # what `make deploy` runs after `sam deploy`
    python -m infrastructure.web_publish --stack-name pitcrew --dry-run  # print config.json and the files, upload nothing

Credentials and region come from the usual AWS chain (the same as `sam deploy`). Files that are not part of the page
(dotfiles, anything but the listed types) are not uploaded; the local config.json, if any, is never uploaded: the
stack's own is written instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WEB_ROOT = ROOT / 'infrastructure' / 'web'
REQUIRED_OUTPUTS = ('PeopleApiUrl', 'PeopleUserPoolId', 'PeopleUserPoolClientId', 'WebBucketName', 'WebDistributionId', 'WebUrl')
CONTENT_TYPES = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.json': 'application/json; charset=utf-8',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
    '.ico': 'image/x-icon',
    '.webmanifest': 'application/manifest+json',
    '.txt': 'text/plain; charset=utf-8',
}
# The page's entry and configuration are revalidated on every load; the rest may be cached a day.
NO_CACHE = ('index.html', 'config.json')


@dataclass(frozen=True)
class WebFile:
    key: str
    path: Path
    content_type: str

    @property
    def cache_control(self) -> str:
        return 'no-cache' if self.key in NO_CACHE else 'public, max-age=86400'


def content_type(path: Path) -> str | None:
    return CONTENT_TYPES.get(path.suffix.lower())


def web_files(root: Path = WEB_ROOT) -> list[WebFile]:
    """The page's files under `root`, as bucket keys (posix, relative); dotfiles, unknown types and config.json skipped."""
    found = []
    for path in sorted(p for p in root.rglob('*') if p.is_file()):
        relative = path.relative_to(root)
        kind = content_type(path)
        if kind is None or any(part.startswith('.') for part in relative.parts) or relative.as_posix() == 'config.json':
            continue
        found.append(WebFile(relative.as_posix(), path, kind))
    return found


def config_document(outputs: dict[str, str], region: str) -> dict[str, str]:
    """The page's config.json (design15.md) from the stack's outputs."""
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing:
        raise ValueError(f'the stack has no output {", ".join(missing)} (deploy the template with the people API first)')
    return {
        'api': outputs['PeopleApiUrl'].rstrip('/'),
        'region': region,
        'user_pool_id': outputs['PeopleUserPoolId'],
        'client_id': outputs['PeopleUserPoolClientId'],
        'cognito_endpoint': f'https://cognito-idp.{region}.amazonaws.com',
    }


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)['Stacks'][0]
    return {o['OutputKey']: o['OutputValue'] for o in stack.get('Outputs', [])}


def publish(outputs: dict[str, str], region: str, s3: Any, cloudfront: Any, root: Path = WEB_ROOT) -> dict[str, Any]:
    """Upload the files and config.json to WebBucket, then invalidate the distribution; returns what was done."""
    config = config_document(outputs, region)
    files = web_files(root)
    if not any(f.key == 'index.html' for f in files):
        raise ValueError(f'{root} has no index.html')
    bucket = outputs['WebBucketName']
    for file in files:
        s3.put_object(Bucket=bucket, Key=file.key, Body=file.path.read_bytes(), ContentType=file.content_type,
                      CacheControl=file.cache_control)  # fmt: skip
    s3.put_object(Bucket=bucket, Key='config.json', Body=json.dumps(config, indent=2).encode(), ContentType=CONTENT_TYPES['.json'],
                  CacheControl='no-cache')  # fmt: skip
    invalidation = cloudfront.create_invalidation(
        DistributionId=outputs['WebDistributionId'],
        InvalidationBatch={'Paths': {'Quantity': 1, 'Items': ['/*']}, 'CallerReference': f'pitcrew-web-{time.time_ns()}'},
    )
    return {'bucket': bucket, 'files': [f.key for f in files] + ['config.json'], 'config': config,
            'invalidation': invalidation['Invalidation']['Id'], 'url': outputs['WebUrl']}  # fmt: skip


def samconfig_stack_name(path: Path = ROOT / 'samconfig.toml') -> str | None:
    """The stack name `sam deploy --guided` saved (default environment), if any."""
    if not path.exists():
        return None
    config = tomllib.loads(path.read_text())
    name = config.get('default', {}).get('deploy', {}).get('parameters', {}).get('stack_name')
    return str(name) if name else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--stack-name', default=None, help="the deployed stack (default: samconfig.toml's stack_name)")
    parser.add_argument('--region', default=None, help='default: the AWS chain (AWS_REGION, profile)')
    parser.add_argument('--web-root', type=Path, default=WEB_ROOT)
    parser.add_argument('--dry-run', action='store_true')
    args = parser.parse_args(argv)
    import boto3

    stack_name = args.stack_name or samconfig_stack_name()
    if not stack_name:
        print('error: no --stack-name and no stack_name in samconfig.toml', file=sys.stderr)
        return 2
    session = boto3.Session(region_name=args.region)
    region = session.region_name
    if not region:
        print('error: no region (pass --region or set AWS_REGION)', file=sys.stderr)
        return 2
    outputs = stack_outputs(session.client('cloudformation'), stack_name)
    if args.dry_run:
        print(json.dumps({'config': config_document(outputs, region), 'files': [f.key for f in web_files(args.web_root)]}, indent=2))
        return 0
    done = publish(outputs, region, session.client('s3'), session.client('cloudfront'), args.web_root)
    print(f'published {len(done["files"])} files to s3://{done["bucket"]} (invalidation {done["invalidation"]}); the page: {done["url"]}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
