"""Headless Chromium for the page's tests: Debian's `chromium` and `chromium-driver` (tests/browser/install.sh, `make
browser`), driven by selenium. Without them the tests are skipped with the reason; with CI=true they fail instead
(CI must run them). Every test leaves a screenshot in tests/browser/artifacts/ (git-ignored), passed or failed."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.fake_api import FakeApi, serve

CHROMIUM = Path('/usr/bin/chromium')
CHROMEDRIVER = Path('/usr/bin/chromedriver')
ARTIFACTS = Path(__file__).resolve().parent / 'artifacts'
PHONE = (390, 844)
DESKTOP = (1280, 900)
WAIT_S = 10


def in_ci() -> bool:
    return os.environ.get('CI', '').strip().lower() in ('true', '1', 'yes')


def require_browser() -> None:
    """Skip (locally) or fail (CI=true) when headless Chromium, its driver or selenium is missing."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append('selenium (pip: the dev extras)')
    if not missing:
        return
    reason = f'headless Chromium is not installed (missing {", ".join(missing)}): run `make browser` (tests/browser/install.sh)'
    if in_ci():
        pytest.fail(f'CI=true: {reason}', pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f'report_{report.when}', report)
    return report


def start_driver(size: tuple[int, int]) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--lang=en-US',
                     '--disable-extensions', '--no-first-run', f'--window-size={size[0]},{size[1]}'):  # fmt: skip
        options.add_argument(argument)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_window_size(*size)
    return driver


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """The fake API and Cognito, serving infrastructure/web/ on its own origin (kiosk idle timeout 3 s)."""
    fake = FakeApi()
    server = serve(fake)
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def _browser(request: pytest.FixtureRequest, size: tuple[int, int]) -> Iterator[Any]:
    require_browser()
    driver = start_driver(size)
    try:
        yield driver
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        call = getattr(request.node, 'report_call', None)
        outcome = 'failed' if call is None or call.failed else 'passed'
        name = re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)
        for old in ARTIFACTS.glob(f'{name}-*.png'):
            old.unlink()
        try:
            save_full_page(driver, ARTIFACTS / f'{name}-{outcome}.png')
            errors = [e['message'] for e in driver.get_log('browser') if e.get('level') == 'SEVERE' and 'Uncaught' in e.get('message', '')]
        finally:
            driver.quit()
        assert not errors, f'uncaught JavaScript errors: {errors}'


def save_full_page(driver: Any, path: Path) -> None:
    """A screenshot of the whole page (not only the window), through the DevTools protocol; the window's when that fails."""
    import base64

    try:
        width, height = driver.execute_script('return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]')
        clip = {'x': 0, 'y': 0, 'width': width, 'height': min(height, 12000), 'scale': 1}
        shot = driver.execute_cdp_cmd('Page.captureScreenshot', {'format': 'png', 'captureBeyondViewport': True, 'clip': clip})
        path.write_bytes(base64.b64decode(shot['data']))
    except Exception:  # a page that never loaded, a crashed tab: keep what the window shows
        driver.save_screenshot(str(path))


@pytest.fixture
def phone(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Headless Chromium the size of a phone (390 x 844)."""
    yield from _browser(request, PHONE)


@pytest.fixture
def desktop(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Headless Chromium the size of a laptop screen (1280 x 900)."""
    yield from _browser(request, DESKTOP)


def wait_for(driver: Any, condition: Callable[[Any], Any], message: str = '', timeout: float = WAIT_S) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # The page re-renders whole sections (a new language, a new month): an element found a moment ago may be gone.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=ignored).until(condition, message)
