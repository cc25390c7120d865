"""The browser harness itself: without Chromium the browser tests skip and say how to get it, except in CI, where they
fail (CI must run them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import conftest


def test_without_chromium_the_browser_tests_skip_locally_and_fail_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given a machine without Debian's chromium
    monkeypatch.setattr(conftest, 'CHROMIUM', tmp_path / 'chromium')

    # When a browser test starts outside CI, Then it is skipped with the reason and the command that fixes it
    monkeypatch.delenv('CI', raising=False)
    with pytest.raises(pytest.skip.Exception, match=r'headless Chromium is not installed .*chromium.*make browser'):
        conftest.require_browser()

    # When it starts in CI (CI=true, as GitHub Actions sets it), Then it fails
    monkeypatch.setenv('CI', 'true')
    with pytest.raises(pytest.fail.Exception, match='CI=true'):
        conftest.require_browser()


def test_with_chromium_installed_nothing_is_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given both binaries present (stand-ins), When the check runs, Then it lets the test run
    for name in ('chromium', 'chromedriver'):
        (tmp_path / name).write_text('')
    monkeypatch.setattr(conftest, 'CHROMIUM', tmp_path / 'chromium')
    monkeypatch.setattr(conftest, 'CHROMEDRIVER', tmp_path / 'chromedriver')
    monkeypatch.setenv('CI', 'true')
    conftest.require_browser()


def test_install_script_uses_only_debians_packages() -> None:
    # Given the install script, Then it installs chromium and chromium-driver with apt-get and downloads nothing else
    script = (Path(conftest.__file__).parent / 'install.sh').read_text()
    assert 'apt-get install -y -qq --no-install-recommends chromium chromium-driver' in script
    assert not any(tool in script for tool in ('curl', 'wget', 'http://', 'https://', 'pip install', 'webdriver-manager'))
