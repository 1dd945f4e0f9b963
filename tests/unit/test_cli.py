"""The command line: clear one-line errors, config check on the shipped example."""

from pathlib import Path

from typer.testing import CliRunner

from ctibridge.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_the_shipped_example_configuration_is_valid() -> None:
    result = runner.invoke(app, ["config", "check", str(ROOT / "examples/ctibridge.yaml")])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_config_check_lists_every_error_with_its_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("server: {port: 70000}\ntelephony:\n  - {name: pbx, type: nosuch}\n")
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert "server.port" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_connector_type_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("telephony:\n  - {name: pbx, type: nosuch}\n")
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert "unknown type 'nosuch'" in result.output and "simulator" in result.output


def test_config_check_validates_each_platforms_options(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "telephony:\n"
        "  - {name: pbx, type: asterisk, options: {host: '', port: 99999, user: ctib}}\n"
        "  - {name: sim, type: simulator, options: {devices: 12}}\n"
    )
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 2, result.output
    assert "pbx" in result.output and "port" in result.output and "secret" in result.output
    assert "sim" in result.output and "devices" in result.output
    assert "Traceback" not in result.output


def test_help_shows_no_type_after_flags() -> None:
    for args in ([], ["demo"], ["calllog"], ["mapping"], ["agent"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, result.output
        assert "--help" in result.output and "<bool>" not in result.output, result.output
