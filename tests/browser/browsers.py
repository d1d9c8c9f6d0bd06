"""The browsers the web console is tested in, for Playwright: Debian's
chromium and Debian's firefox-esr, both headless and from the system; no
browser is ever downloaded. Every browser test runs once in each.

A missing browser fails the run (tests/run.sh installs both packages).

firefox-esr is driven over WebDriver BiDi through tests/browser/firefox_relay.py,
which answers the one command Playwright sends that it lacks. Its colour
scheme is a pref fixed at launch, so a dark page needs a browser of its own
(`dark_browser`); chromium emulates either in any context.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Playwright, sync_playwright

from tests.browser.firefox_relay import FIREFOX, SCHEME_PREF, SCHEMES

CHROMIUM = "/usr/bin/chromium"
BROWSERS = {"chromium": CHROMIUM, "firefox": FIREFOX}
# The tests' pages are on 127.0.0.1, and a browser must reach nothing else:
# left alone, chromium looks up accounts.google.com at start, and
# firefox-esr its remote settings' server, Playwright's dummy server pref
# notwithstanding: every query is traffic to the name server, an address
# off this machine. So chromium resolves no name but loopback's, and that
# one name of firefox's resolves to loopback, where nothing answers.
CHROMIUM_ARGS = ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"]
FIREFOX_PREFS = {"network.dns.localDomains": "firefox.settings.services.mozilla.com"}
RELAY = Path(__file__).with_name("firefox_relay.py")


def require(name: str) -> None:
    if shutil.which(BROWSERS[name]) is None:
        package = {"chromium": "chromium", "firefox": "firefox-esr"}[name]
        pytest.fail(f"no {name} at {BROWSERS[name]}: install Debian's {package} package (tests/run.sh does)",
                    pytrace=False)


def firefox_launcher(directory: Path) -> Path:
    """The executable Playwright starts as firefox: the relay, run by this interpreter."""
    launcher = directory / "firefox-esr"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{RELAY}" "$@"\n')
    launcher.chmod(0o755)
    return launcher


def launch(playwright: Playwright, name: str, launcher_dir: Path, color_scheme: str = "light") -> Browser:
    require(name)
    if name == "chromium":
        return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    pref = {value: key for key, value in SCHEMES.items()}[color_scheme]
    return playwright.firefox.launch(
        channel="moz-firefox", executable_path=firefox_launcher(launcher_dir), headless=True,
        firefox_user_prefs={**FIREFOX_PREFS, SCHEME_PREF: pref})


def retype(field: Locator, text: str) -> None:
    """Replace what a field holds as a user does: select all of it, then type.
    Playwright's fill() on firefox-esr over WebDriver BiDi adds to what a
    number field holds instead of replacing it (a user's Ctrl+A does replace)."""
    field.click()
    field.press("Control+a")
    field.press_sequentially(text)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module", params=sorted(BROWSERS))
def browser_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def browser(playwright: Playwright, browser_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    browser = launch(playwright, browser_name, tmp_path_factory.mktemp(browser_name))
    yield browser
    browser.close()


@pytest.fixture
def dark_browser(playwright: Playwright, browser: Browser, browser_name: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A browser whose contexts may ask for dark colours (and light ones, on chromium)."""
    if browser_name == "chromium":
        yield browser
        return
    dark = launch(playwright, browser_name, tmp_path_factory.mktemp("dark"), color_scheme="dark")
    yield dark
    dark.close()
