"""The browsers the tests drive show a page the colours its context asks
for, or refuse: firefox-esr's scheme is fixed at launch, and its relay
must not claim a dark page from a light browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Error

IS_DARK = "matchMedia('(prefers-color-scheme: dark)').matches"


def scheme_seen(browser: Browser, color_scheme: str) -> bool:
    context = browser.new_context(color_scheme=color_scheme)
    try:
        page = context.new_page()
        page.set_content("<p>colours</p>")
        return page.evaluate(IS_DARK)
    finally:
        context.close()


def test_a_context_gets_the_colours_it_asks_for_or_an_error(browser: Browser, dark_browser: Browser,
                                                             browser_name: str) -> None:
    assert scheme_seen(browser, "light") is False
    assert scheme_seen(dark_browser, "dark") is True
    if browser_name == "firefox":
        with pytest.raises(Error, match="started with the light colour scheme.*cannot show dark"):
            browser.new_context(color_scheme="dark")
        with pytest.raises(Error, match="started with the dark colour scheme.*cannot show light"):
            dark_browser.new_context(color_scheme="light")
    else:  # chromium emulates either scheme in any context
        assert scheme_seen(browser, "dark") is True
