"""A hub never runs on a secret key anybody knows (the docs' example) or could guess
(a short one): ``config check`` and ``serve`` refuse it, saying how to make one, and
never print it; the demo makes its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctibridge.cli import app
from ctibridge.config import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_KEY = "change-me-to-a-long-random-string"  # what docs and examples once shipped
runner = CliRunner()


def config_with(tmp_path: Path, key: str) -> Path:
    path = tmp_path / "ctibridge.yaml"
    path.write_text(f"auth:\n  secret_key: {key!r}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [["config", "check"], ["serve", "--config"]])
def test_the_example_secret_key_is_refused(tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(app, [*command, str(config_with(tmp_path, EXAMPLE_KEY))])
    assert result.exit_code == 2, result.output
    assert "auth.secret_key" in result.output and "example secret key" in result.output
    assert "secrets.token_urlsafe" in result.output  # how to make a good one
    assert EXAMPLE_KEY not in result.output


@pytest.mark.parametrize("command", [["config", "check"], ["serve", "--config"]])
def test_a_short_secret_key_is_refused_and_not_echoed(tmp_path: Path,
                                                      command: list[str]) -> None:
    short = "Zq9-short-but-secret-k3y"  # 24 bytes
    result = runner.invoke(app, [*command, str(config_with(tmp_path, short))])
    assert result.exit_code == 2, result.output
    assert "auth.secret_key" in result.output and "at least 32" in result.output
    assert short not in result.output and "Traceback" not in result.output


def test_a_short_key_from_the_environment_is_refused_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTIBRIDGE_AUTH__SECRET_KEY", "tooshort")
    result = runner.invoke(app, ["config", "check", str(ROOT / "examples/ctibridge.yaml")])
    assert result.exit_code == 2 and "at least 32" in result.output
    assert "tooshort" not in result.output


def test_a_long_random_key_is_accepted(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "check",
                                 str(config_with(tmp_path, "k" * 8 + "Qx7-p2Lm9wRt4vNb6yHs3dFg"))])
    assert result.exit_code == 0, result.output


def test_the_shipped_example_holds_no_secret_key() -> None:
    text = (ROOT / "examples/ctibridge.yaml").read_text(encoding="utf-8")
    assert EXAMPLE_KEY not in text
    for doc in (ROOT / "docs").rglob("*.md"):
        assert EXAMPLE_KEY not in doc.read_text(encoding="utf-8"), doc


def test_the_demo_makes_its_own_strong_key() -> None:
    one, two = Settings.demo_settings(), Settings.demo_settings()
    key = one.auth.secret_key.get_secret_value()
    assert len(key.encode()) >= 32 and key != two.auth.secret_key.get_secret_value()
    assert key not in repr(one)  # a SecretStr: never printed with the settings


def test_config_check_never_echoes_a_password(tmp_path: Path) -> None:
    path = tmp_path / "ctibridge.yaml"
    path.write_text("telephony:\n"
                    "  - {name: sim, type: simulator,"
                    "     options: {devices: 'http://ops:Sim-Secr3t-pw@pbx.example/'}}\n"
                    "  - name: pbx\n    type: asterisk\n    options:\n"
                    "      {host: pbx.example, port: 99999, user: ctib, secret: Ast-S3cret-99}\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2 and "devices" in result.output, result.output
    assert "port" in result.output
    assert "Sim-Secr3t-pw" not in result.output and "Ast-S3cret-99" not in result.output
    assert "ops:***@pbx.example" in result.output  # the value shown, its password masked
