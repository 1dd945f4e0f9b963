"""A YAML alias bomb ("billion laughs") in a mapping or config file is refused at
once, in bounded memory: ``mapping check`` and ``config check`` run as processes
under a 600 MB address-space limit (the review saw 3.8 GB)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from ctibridge import yamlsafe
from ctibridge.config import Settings
from ctibridge.model.errors import ConfigError

LIMIT = 600 * 2**20


def bomb(levels: int = 9, width: int = 9) -> str:
    """``l0`` holds nine strings, each next level nine aliases of the one before:
    9**9 ≈ 387 million values from a few hundred bytes."""
    out = ['l0: &l0 [' + ", ".join(['"lol"'] * width) + ']']
    for i in range(1, levels):
        out.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(out) + "\n"


def run_limited(*args: str) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))

    return subprocess.run([sys.executable, "-m", "ctibridge.cli", *args], capture_output=True,
                          text=True, timeout=60, preexec_fn=limit)


@pytest.mark.parametrize("kind", ["mapping", "config"])
def test_an_alias_bomb_is_refused_fast_in_bounded_memory(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.yaml"
    head = "name: bomb\n" if kind == "mapping" else ""
    path.write_text(head + bomb())
    run = run_limited(kind, "check", str(path))
    assert run.returncode != 0
    text = run.stdout + run.stderr
    assert "alias" in text and "MemoryError" not in text, text[-2000:]
    assert "Traceback" not in text, text[-2000:]


def test_recursive_and_many_aliases_are_refused_but_ordinary_ones_work(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="contains it"):
        yamlsafe.load("a: &a [*a]\n")
    with pytest.raises(Exception, match="aliases"):
        yamlsafe.load("x: &x 1\ny: [" + ", ".join(["*x"] * 1001) + "]\n")
    assert yamlsafe.load("base: &b {timeout_seconds: 5}\nother: *b\n") == {
        "base": {"timeout_seconds": 5}, "other": {"timeout_seconds": 5}}
    path = tmp_path / "hub.yaml"
    path.write_text(bomb(levels=8))
    with pytest.raises(ConfigError, match="alias"):
        Settings.load(path)
