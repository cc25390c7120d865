"""Catalogues in SSM (moto): the parameter's version is the catalogue's; an invalid version is never used, the last valid
one keeps running, and `CatalogueRejected` is counted on every refresh until it is fixed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared.config import get_settings
from shared.wallet import catalogue_loader
from tests.support.local_aws import local_aws

EVENTS = Path(__file__).resolve().parents[2] / 'events'
PATH = '/pitcrew/test/catalogues'


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv('CATALOGUES_PATH', PATH)
    with local_aws():
        get_settings.cache_clear()
        catalogue_loader.clear_cache()
        yield boto3.client('ssm', region_name=os.environ['AWS_DEFAULT_REGION'])
    catalogue_loader.clear_cache()
    get_settings.cache_clear()


def _put(ssm: Any, document: dict[str, Any] | str, name: str = 'pitstop') -> None:
    value = document if isinstance(document, str) else json.dumps(document)
    ssm.put_parameter(Name=f'{PATH}/{name}', Value=value, Type='String', Overwrite=True)


def test_the_newest_valid_version_runs_and_an_invalid_one_never_does(ssm: Any, capsys: pytest.CaptureFixture[str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.observability import logger

    logged: list[dict[str, Any]] = []
    monkeypatch.setattr(logger, 'error', lambda message, extra: logged.append({'message': message} | extra))
    # Given: version 1 of the workshop catalogue
    document = json.loads((EVENTS / 'catalogue_workshop.json').read_text())
    _put(ssm, document)
    first = catalogue_loader.load_catalogues(ssm=ssm, max_age_s=0).get('pitstop')
    assert first is not None and first.version == 1 and first.ref == 'pitstop@1'
    capsys.readouterr()
    # When: an admin saves version 2 with a price of 0
    broken = json.loads(json.dumps(document))
    broken['items'][0]['price_points'] = 0
    _put(ssm, broken)
    running = catalogue_loader.load_catalogues(ssm=ssm, max_age_s=0).get('pitstop')
    # Then: version 1 keeps running; the refusal is logged with the field and counted for the alarm
    assert running is not None and running.version == 1
    assert '"CatalogueRejected"' in capsys.readouterr().out
    assert logged[-1]['version'] == 2 and any(error.startswith('items.0.price_points') for error in logged[-1]['errors'])
    # And: every refresh counts it again while it stays the newest
    catalogue_loader.load_catalogues(ssm=ssm, max_age_s=0)
    assert '"CatalogueRejected"' in capsys.readouterr().out
    # When: version 3 fixes it
    document['items'][0]['price_points'] = 450
    _put(ssm, document)
    fixed = catalogue_loader.load_catalogues(ssm=ssm, max_age_s=0).get('pitstop')
    assert fixed is not None and fixed.version == 3 and fixed.document.items[0].price_points == 450
    assert '"CatalogueRejected"' not in capsys.readouterr().out


def test_a_first_version_that_does_not_validate_leaves_no_catalogue(ssm: Any) -> None:
    _put(ssm, '{"program_id": "pitstop", "items": [{"item_id": "x"}]}')
    assert catalogue_loader.load_catalogues(ssm=ssm, max_age_s=0).get('pitstop') is None


def test_a_document_under_another_programs_name_is_refused(ssm: Any) -> None:
    _put(ssm, (EVENTS / 'catalogue_workshop.json').read_text(), name='ecommerce_support')
    assert catalogue_loader.load_catalogues(ssm=ssm, max_age_s=0).get('ecommerce_support') is None
