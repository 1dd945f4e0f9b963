"""What a test needs from the machine: missing, it skips locally and fails under CI.

CI (CI=true) installs and starts everything (scripts/test.sh), so there a missing
browser, node, openssl or PostgreSQL is a broken install step, not a reason to skip.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest


def unavailable(why: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI must provide it: see scripts/test.sh)", pytrace=False)
    pytest.skip(why)


def shared_fixtures() -> Path:
    """``../shared/fixtures`` of the project (recorded Asterisk traffic, protocol samples).

    Found next to this checkout; for a clone made elsewhere (``git clone . /tmp/x``),
    next to the checkout it was cloned from; or wherever CTIBRIDGE_SHARED points.
    """
    root = Path(__file__).resolve().parents[1]
    candidates = [Path(p) for p in [os.environ.get("CTIBRIDGE_SHARED", "")] if p]
    candidates.append(root.parent / "shared")
    origin = subprocess.run(["git", "-C", str(root), "config", "--get", "remote.origin.url"],
                            capture_output=True, text=True, check=False).stdout.strip()
    if origin and "://" not in origin and not origin.startswith("git@"):
        candidates.append(Path(origin).resolve().parent / "shared")
    for folder in candidates:
        if (folder / "fixtures").is_dir():
            return folder / "fixtures"
    raise RuntimeError("the shared fixtures are not found: looked in "
                       + ", ".join(str(c) for c in candidates)
                       + "; set CTIBRIDGE_SHARED to the folder holding fixtures/")
