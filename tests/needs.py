"""What a test needs from the machine: missing, it skips locally and fails under CI.

CI (CI=true) installs and starts everything (scripts/test.sh), so there a missing
browser, node, openssl or PostgreSQL is a broken install step, not a reason to skip.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(why: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI must provide it: see scripts/test.sh)", pytrace=False)
    pytest.skip(why)
