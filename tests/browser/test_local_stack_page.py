"""The page against the real local stack (`make run`): moto Cognito, the JWT check as API Gateway makes it, the real
functions. A skeleton the integrator enables once the people API, the local users and the page's serving land: it shows
how the stack is started (as tests/integration/test_local_run_serving.py does) and what the test drives; the names it
assumes (users, password, PIN) are the design's (design15.md, "Local users")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.skip(reason='enabled at integration')]

LOCAL_PASSWORD = 'Pitcrew-local-1'
LOCAL_PIN = '2468'


@pytest.fixture
def local_stack() -> Iterator[Any]:
    """`python -m infrastructure.local.run` on free ports with a tiny month, serving the page and config.json at `/`."""
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

    # Given the local stack serving the page, its config.json naming moto's Cognito and the local API
    status, config = local_stack.request('GET', '/config.json')
    assert status == 200 and {'api', 'region', 'user_pool_id', 'client_id', 'cognito_endpoint'} <= set(config)
    phone.get(f'http://127.0.0.1:{local_stack.api_port}/')

    # When the local advisor signs in (the user name `make run` prints for the advisor)
    username = 'advisor'  # integrator: the name the local stack creates (design15.md "Local users")
    wait_for(phone, lambda d: d.find_element(By.ID, 'login').is_displayed())
    phone.find_element(By.ID, 'username').send_keys(username)
    phone.find_element(By.ID, 'password').send_keys(LOCAL_PASSWORD)
    phone.find_element(By.CSS_SELECTOR, '#login-form button[type=submit]').click()

    # Then the statement of the replayed month shows lines with their explanations (token verified against moto's JWKS)
    wait_for(phone, lambda d: d.find_elements(By.CSS_SELECTOR, '#statement-lines li.line .explanation'), timeout=60)
    # And a redemption of the cheapest item the advisor can afford is confirmed
    button = wait_for(phone, lambda d: d.find_elements(By.CSS_SELECTOR, '#catalogue button[data-item]'), timeout=30)[0]
    button.click()
    wait_for(phone, lambda d: d.find_elements(By.CSS_SELECTOR, '#catalogue .item .ok'), timeout=30)


def test_kiosk_pin_login_and_idle_logout_on_the_local_stack(phone: Any, local_stack: Any) -> None:
    from selenium.webdriver.common.by import By

    # Given the kiosk screen signed in with a workshop's device user (kiosk-<location>)
    phone.get(f'http://127.0.0.1:{local_stack.api_port}/?kiosk=1')
    device = 'kiosk-IN-BLR-01'  # integrator: the device user of the first workshop location
    wait_for(phone, lambda d: d.find_element(By.ID, 'login').is_displayed())
    phone.find_element(By.ID, 'username').send_keys(device)
    phone.find_element(By.ID, 'password').send_keys(LOCAL_PASSWORD)
    phone.find_element(By.CSS_SELECTOR, '#login-form button[type=submit]').click()
    wait_for(phone, lambda d: d.find_element(By.ID, 'keypad').is_displayed(), timeout=30)

    # When a technician of that location enters their code and the local PIN
    technician = 'E4'  # integrator: a technician of that location in the sample directory
    phone.find_element(By.ID, 'kiosk-code').send_keys(technician)
    phone.find_element(By.ID, 'kiosk-pin').send_keys(LOCAL_PIN)
    phone.find_element(By.ID, 'kiosk-ok').click()

    # Then their statement shows, and after 60 s without input the page is back at the keypad
    wait_for(phone, lambda d: d.find_elements(By.CSS_SELECTOR, '#statement-lines li'), timeout=30)
    wait_for(phone, lambda d: d.find_element(By.ID, 'keypad').is_displayed(), timeout=75)
