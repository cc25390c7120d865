"""The statement in the person's language end to end on moto: GET /v1/me/statement answers in the language the directory
holds for the caller, and the StatementFunction in the directory's language unless its request names one (a language
Pitcrew does not speak is refused, naming the field)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.api_people import app as people
from shared.directory.store import DirectoryStore
from tests.support.apigw import lambda_context
from tests.support.people_api import BY_ID, claims_of
from tests.support.people_seed import World, call, people_world

NOW = datetime(2026, 10, 20, 6, 0, tzinfo=UTC)
ME = BY_ID['IN-BLR-01-A']


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with people_world(monkeypatch, NOW) as world:
        # Given: 1,250 points for a first-time fix this month and 30 for a CSAT in September
        world.write(world.entry(ME.employee_id, 30, datetime(2026, 9, 28, 6, tzinfo=UTC), rule='csat_positive'),
                    world.entry(ME.employee_id, 1250, NOW - timedelta(days=3)))  # fmt: skip
        yield world


def speaks(employee_id: str, language: str) -> None:
    """The directory holds `language` for the person (as a directory import would write it)."""
    profile = DirectoryStore().profile_of(employee_id)
    assert profile is not None
    profile.update(actions=[type(profile).language.set(language)])


def my_statement() -> dict[str, Any]:
    status, body, _ = call(people, 'GET', '/v1/me/statement', claims_of(ME), query={'month': '2026-10'})
    assert status == 200, body
    return body


@pytest.mark.parametrize(('language', 'words'), [('en', '+1250 for "First time fix" on dms#JC-2 (delivery)'),
                                                 ('es', '+1.250 por «First time fix» en dms#JC-2 (delivery)'),
                                                 ('hi', '+1,250 "First time fix" के लिए, dms#JC-2 पर (delivery)'),
                                                 ('id', '+1.250 untuk "First time fix" pada dms#JC-2 (delivery)')])  # fmt: skip
def test_my_statement_is_written_in_my_directory_language(world: World, language: str, words: str) -> None:
    # Given: the directory says I read `language`
    speaks(ME.employee_id, language)
    # When: I read October's statement
    body = my_statement()
    # Then: its line is explained in my language with the same figures; the answer says which language it is in
    [line] = body['items']
    assert body['language'] == language and line['explanation'] == words
    assert line['amount'] == 1250 and body['totals']['opening_available'] == 30 and body['totals']['earned'] == 1250


def console(**request: Any) -> dict[str, Any]:
    from functions.statement.app import lambda_handler

    return lambda_handler({'employee_id': ME.employee_id, 'month': '2026-10', 'format': 'text', **request}, lambda_context())


def test_the_console_function_uses_the_directory_language_unless_the_request_names_one(world: World) -> None:
    # Given: the directory says I read Indonesian
    speaks(ME.employee_id, 'id')
    # When: the StatementFunction is run without a language, with Spanish, and with a language Pitcrew does not speak
    default, spanish, french = console(), console(language='es'), console(language='fr')
    # Then: the first is Indonesian, the second Spanish (same figures), the third refused naming the field
    assert default['language'] == 'id' and default['text'][0].startswith(f'Laporan poin {ME.employee_id}')
    assert spanish['language'] == 'es' and spanish['text'][0].startswith(f'Extracto de puntos de {ME.employee_id}')
    assert spanish['statement']['totals'] == default['statement']['totals']
    assert french['ok'] is False and french['field'] == 'language'
