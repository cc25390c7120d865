"""`make deploy` publishes the people page (infrastructure/web_publish.py): the page's files with their content types,
config.json from the stack's outputs, and an invalidation of the distribution; on moto (S3, CloudFront)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infrastructure.web_publish import config_document, publish, samconfig_stack_name, web_files

REGION = 'ap-south-1'


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, dict[str, str]]]:
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    with mock_aws():
        s3 = boto3.client('s3', region_name=REGION)
        s3.create_bucket(Bucket='pitcrew-web', CreateBucketConfiguration={'LocationConstraint': REGION})
        cloudfront = boto3.client('cloudfront', region_name='us-east-1')
        distribution = cloudfront.create_distribution(DistributionConfig={
            'CallerReference': 'test', 'Comment': '', 'Enabled': True, 'DefaultRootObject': 'index.html',
            'Origins': {'Quantity': 1, 'Items': [{'Id': 'web', 'DomainName': 'pitcrew-web.s3.amazonaws.com',
                                                  'S3OriginConfig': {'OriginAccessIdentity': ''}}]},
            'DefaultCacheBehavior': {'TargetOriginId': 'web', 'ViewerProtocolPolicy': 'redirect-to-https', 'MinTTL': 0,
                                     'ForwardedValues': {'QueryString': False, 'Cookies': {'Forward': 'none'}},
                                     'TrustedSigners': {'Enabled': False, 'Quantity': 0}},
        })['Distribution']
        outputs = {
            'PeopleApiUrl': 'https://abc123.execute-api.ap-south-1.amazonaws.com/', 'PeopleUserPoolId': 'ap-south-1_Pool',
            'PeopleUserPoolClientId': 'client123', 'WebBucketName': 'pitcrew-web', 'WebDistributionId': distribution['Id'],
            'WebUrl': f'https://{distribution["DomainName"]}',
        }
        yield s3, cloudfront, outputs


def page(tmp_path: Path) -> Path:
    (tmp_path / 'i18n').mkdir()
    (tmp_path / 'index.html').write_text('<!doctype html><title>Pitcrew</title>')
    (tmp_path / 'app.js').write_text('console.log(1)')
    (tmp_path / 'i18n' / 'hi.json').write_text('{"hello": "नमस्ते"}')
    (tmp_path / '.DS_Store').write_text('junk')
    (tmp_path / 'config.json').write_text('{"api": "http://127.0.0.1:3000"}')  # a local one: never published
    (tmp_path / 'notes.md').write_text('not part of the page')
    return tmp_path


def test_publish_uploads_the_page_and_its_config_from_the_stack_outputs(aws: tuple[Any, Any, dict[str, str]], tmp_path: Path) -> None:
    # Given a deployed stack's outputs and a page folder with a dotfile, a local config.json and a file of another type
    s3, cloudfront, outputs = aws
    root = page(tmp_path)

    # When the page is published
    done = publish(outputs, REGION, s3, cloudfront, root)

    # Then the page's files are in the bucket with their content types, and nothing else of the folder
    keys = {o['Key'] for o in s3.list_objects_v2(Bucket='pitcrew-web')['Contents']}
    assert keys == {'index.html', 'app.js', 'i18n/hi.json', 'config.json'}
    assert s3.head_object(Bucket='pitcrew-web', Key='app.js')['ContentType'] == 'text/javascript; charset=utf-8'
    assert s3.head_object(Bucket='pitcrew-web', Key='index.html')['CacheControl'] == 'no-cache'
    # And config.json is the stack's, not the local one
    config = json.loads(s3.get_object(Bucket='pitcrew-web', Key='config.json')['Body'].read())
    assert config == {'api': 'https://abc123.execute-api.ap-south-1.amazonaws.com', 'region': REGION, 'user_pool_id': 'ap-south-1_Pool',
                      'client_id': 'client123', 'cognito_endpoint': 'https://cognito-idp.ap-south-1.amazonaws.com'}
    # And the distribution was invalidated
    invalidations = cloudfront.list_invalidations(DistributionId=outputs['WebDistributionId'])['InvalidationList']
    assert invalidations['Quantity'] == 1 and done['invalidation'] == invalidations['Items'][0]['Id']


def test_a_stack_without_the_people_outputs_is_refused_naming_them(tmp_path: Path) -> None:
    # Given outputs of a stack deployed before the people API
    outputs = {'WebhookBaseUrl': 'https://x.execute-api.ap-south-1.amazonaws.com/webhooks'}
    # When / Then the config cannot be written, and the missing outputs are named
    with pytest.raises(ValueError, match='PeopleApiUrl.*WebBucketName'):
        config_document(outputs, REGION)


def test_the_stack_name_comes_from_samconfig_and_the_shipped_page_has_an_index(tmp_path: Path) -> None:
    # Given the file `sam deploy --guided` writes
    samconfig = tmp_path / 'samconfig.toml'
    samconfig.write_text('version = 0.1\n[default.deploy.parameters]\nstack_name = "pitcrew-prod"\nregion = "ap-south-1"\n')
    # Then its stack name is used, and none without the file
    assert samconfig_stack_name(samconfig) == 'pitcrew-prod'
    assert samconfig_stack_name(tmp_path / 'missing.toml') is None
    # And the repository's page folder has what publish requires
    assert 'index.html' in {f.key for f in web_files()}
