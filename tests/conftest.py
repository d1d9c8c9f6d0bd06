"""What every test shares: the environment the product reads.

Tables fit the terminal when COLUMNS says how wide it is (cli/tables.py);
a developer's shell exports it, CI's does not. Tests read whole tables
unless they set a width themselves, so it is not inherited here (nor by the
commands they run as subprocesses)."""

from __future__ import annotations

import os

for _variable in ("COLUMNS", "LINES"):
    os.environ.pop(_variable, None)

# The browser fixtures (each browser test runs in chromium and in firefox-esr).
pytest_plugins = ["tests.browser.browsers"]
