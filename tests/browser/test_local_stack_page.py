"""The page against the real local stack (`make run`): moto Cognito, the JWT check as API Gateway makes it, the real
functions, started as tests/integration/test_local_run_serving.py does (once for the module). The advisor, the manager
and a workshop kiosk sign in with the local users (design15.md, "Local users") and read what the replayed month left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import wait_for

pytestmark = [pytest.mark.browser]

LOCAL_PASSWORD = 'Pitcrew-local-1'
LOCAL_PIN = '2468'


SAMPLE_MONTH = '2026-10'  # the month `make run` replays (infrastructure/local/sample_month.generate)


def id_token(config: dict[str, str], username: str) -> str:
    """An ID token of a local user from the local Cognito (as the page signs in: USER_PASSWORD_AUTH)."""
    import boto3

    cognito = boto3.client('cognito-idp', region_name=config['region'], endpoint_url=config['cognito_endpoint'], aws_access_key_id='x',
                           aws_secret_access_key='x')  # fmt: skip
    answer = cognito.initiate_auth(ClientId=config['client_id'], AuthFlow='USER_PASSWORD_AUTH',
                                   AuthParameters={'USERNAME': username, 'PASSWORD': LOCAL_PASSWORD})  # fmt: skip
    return str(answer['AuthenticationResult']['IdToken'])


def local_logins() -> list[Any]:
    """The users `make run` creates (infrastructure/local/cognito.py) from the sample month's directory."""
    from infrastructure.local.cognito import choose_local_people
    from infrastructure.local.sample_month import sample_people

    return choose_local_people(sample_people())


@pytest.fixture(scope='module')
def local_stack() -> Iterator[Any]:
    """`python -m infrastructure.local.run` on free ports with a tiny month, serving the page and config.json at `/` (one
    stack for the module's tests: none of them changes what another reads)."""
    from tests.integration.test_local_run_serving import Run

    run = Run('--scale', '0.01', '--no-alerts')
    try:
        run.health_when_serving()
        yield run
    finally:
        run.process.terminate()  # the integrator may prefer SIGINT and the run's summary, as test_local_run_serving does
        run.process.wait(timeout=60)


def test_advisor_signs_in_reads_the_statement_and_redeems_on_the_local_stack(phone: Any, local_stack: Any) -> None:
    from selenium.webdriver.common.by import By

    # Given the local stack serving the page, its config.json naming moto's Cognito and the local API, the month replayed
    status, config = local_stack.request('GET', '/config.json')
    assert status == 200 and {'api', 'region', 'user_pool_id', 'client_id', 'cognito_endpoint'} <= set(config)
    local_stack.wait_for('replay finished')
    # And the advisor credited 500 points by the local admin through the admin API (so a voucher is affordable)
    advisor = next(login for login in local_logins() if login.role == 'advisor')
    admin = {
        'Authorization': f'Bearer {id_token(config, "admin")}',
        'Content-Type': 'application/json',
        'Idempotency-Key': 'browser-credit-1',
    }
    credit = {'adjustment_id': 'browser-credit-1', 'employee_id': advisor.employee_id, 'points': 500, 'reason': 'Browser test credit'}
    status, answer = local_stack.request('POST', '/v1/admin/adjustments', json.dumps(credit).encode(), admin)
    assert status == 200, answer
    phone.get(f'http://127.0.0.1:{local_stack.api_port}/')

    # When the local advisor signs in (the user name `make run` prints for the advisor)
    username = advisor.username
    wait_for(phone, lambda d: d.find_element(By.ID, 'login').is_displayed())
    phone.find_element(By.ID, 'username').send_keys(username)
    phone.find_element(By.ID, 'password').send_keys(LOCAL_PASSWORD)
    phone.find_element(By.CSS_SELECTOR, '#login-form button[type=submit]').click()

    # Then the advisor's name and the month's points chart (points per day, with today's rank when ranked) are shown
    wait_for(phone, lambda d: d.find_element(By.ID, 'who').text == advisor.name, timeout=30)
    wait_for(phone, lambda d: d.find_elements(By.CSS_SELECTOR, '#rank svg.chart polyline.line'), timeout=30)
    assert 'Points over the month' in phone.find_element(By.ID, 'rank').text
    # And the statement of the replayed month shows lines with their explanations (token verified against moto's JWKS)
    wait_for(phone, lambda d: d.find_element(By.ID, 'month').is_displayed(), timeout=30)
    phone.execute_script("const m = document.getElementById('month'); m.value = arguments[0]; m.dispatchEvent(new Event('change'))",
                         SAMPLE_MONTH)  # fmt: skip
    wait_for(phone, lambda d: d.find_elements(By.CSS_SELECTOR, '#statement-lines li.line .explanation'), timeout=60)
    # And a redemption of the cheapest item the advisor can afford is confirmed
    button = wait_for(phone, lambda d: d.find_elements(By.CSS_SELECTOR, '#catalogue button[data-item]'), timeout=30)[0]
    button.click()
    wait_for(phone, lambda d: d.find_elements(By.CSS_SELECTOR, '#catalogue .item .ok'), timeout=30)


def test_manager_sees_kpis_against_targets_levels_standings_and_decisions_on_the_local_stack(desktop: Any, local_stack: Any) -> None:
    from selenium.webdriver.common.by import By

    # Given the local stack with the sample month replayed
    local_stack.wait_for('replay finished')
    desktop.get(f'http://127.0.0.1:{local_stack.api_port}/')

    # When the local manager (a workshop's manager, in no program themselves) signs in and looks at the replayed month
    wait_for(desktop, lambda d: d.find_element(By.ID, 'login').is_displayed())
    desktop.find_element(By.ID, 'username').send_keys('manager')
    desktop.find_element(By.ID, 'password').send_keys(LOCAL_PASSWORD)
    desktop.find_element(By.CSS_SELECTOR, '#login-form button[type=submit]').click()
    wait_for(desktop, lambda d: d.find_element(By.ID, 'period').is_displayed(), timeout=30)
    desktop.execute_script("const m = document.getElementById('period'); m.value = arguments[0]; m.dispatchEvent(new Event('change'))",
                           SAMPLE_MONTH)  # fmt: skip

    # Then the team's KPIs are drawn over 6 months against their targets (a dashed target line in an SVG chart)
    # (waited for on the page as it is after the month's change: the first month's render may still be on screen)
    wait_for(desktop, lambda d: d.find_elements(By.CSS_SELECTOR, '#kpis svg.chart line.target') and 'Target' in d.find_element(By.ID, 'kpis').text,
             timeout=30)  # fmt: skip
    # And the service levels show a row per channel of the manager's location
    wait_for(desktop, lambda d: d.find_elements(By.CSS_SELECTOR, '#levels tbody tr[data-channel]'), timeout=30)
    # And the standings of a division of the team load for the workshop's program (rows, or the empty board's line)
    wait_for(desktop, lambda d: d.find_elements(By.CSS_SELECTOR, '#standings ol li'), timeout=30)
    asked = desktop.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/v1/team/standings'))"
    )
    assert any('program_id=pitstop' in url and 'division=' in url and f'month={SAMPLE_MONTH}' in url for url in asked), asked
    # And the disputes, approvals and flags panes load (the month's spot award waits for approval, its ring of thanks is flagged)
    for pane in ('#disputes li', '#approvals li', '#flags li'):

        def loaded(driver: Any, selector: str = pane) -> Any:
            return driver.find_elements(By.CSS_SELECTOR, selector)

        wait_for(desktop, loaded, timeout=30)
    # And no pane shows an error message
    errors = [e.text for e in desktop.find_elements(By.CSS_SELECTOR, '#app .error')]
    assert errors == [], errors


def test_kiosk_pin_login_and_idle_logout_on_the_local_stack(phone: Any, local_stack: Any) -> None:
    from selenium.webdriver.common.by import By

    # Given the kiosk screen signed in with a workshop's device user (kiosk-<location>)
    phone.get(f'http://127.0.0.1:{local_stack.api_port}/?kiosk=1')
    kiosk = next(login for login in local_logins() if login.role == 'kiosk')
    device = kiosk.username  # the device user of the first workshop location (kiosk-in-blr-01)
    wait_for(phone, lambda d: d.find_element(By.ID, 'login').is_displayed())
    phone.find_element(By.ID, 'username').send_keys(device)
    phone.find_element(By.ID, 'password').send_keys(LOCAL_PASSWORD)
    phone.find_element(By.CSS_SELECTOR, '#login-form button[type=submit]').click()
    wait_for(phone, lambda d: d.find_element(By.ID, 'keypad').is_displayed(), timeout=30)

    # When a technician of that location enters their code and the local PIN
    technician = min(kiosk.pins)  # a technician of that location in the sample directory
    phone.find_element(By.ID, 'kiosk-code').send_keys(technician)
    phone.find_element(By.ID, 'kiosk-pin').send_keys(LOCAL_PIN)
    phone.find_element(By.ID, 'kiosk-ok').click()

    # Then their statement shows, and after 60 s without input the page is back at the keypad
    wait_for(phone, lambda d: d.find_elements(By.CSS_SELECTOR, '#statement-lines li'), timeout=30)
    wait_for(phone, lambda d: d.find_element(By.ID, 'keypad').is_displayed(), timeout=75)
