"""The agent bar's pure modules (formatting, state, protocol client, i18n), under node --test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.needs import unavailable

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent


def test_the_bar_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed (apt-get install nodejs)")
    files = sorted(str(p) for p in (HERE / "js").glob("*.test.mjs"))
    assert files
    run = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=120,
                         cwd=HERE.parent.parent)
    summary = [line for line in run.stdout.splitlines() if line.startswith(("# pass", "# fail"))]
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert summary and summary[-1] == "# fail 0", summary
