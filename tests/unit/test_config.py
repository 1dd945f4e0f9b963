"""Configuration: YAML + environment, every error with its field."""

from pathlib import Path

import pytest

from ctibridge.config import Settings
from ctibridge.model.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "ctibridge.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_minimal_file_gives_the_simulator_and_defaults(tmp_path: Path) -> None:
    s = Settings.load(write(tmp_path, "agents:\n  - {id: alice, name: Alice, extension: '1001'}\n"))
    assert [t.type for t in s.telephony] == ["simulator"]
    assert s.agents[0].platform == "sim"
    assert s.wrap_up_seconds == 120


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTIBRIDGE_SERVER__PORT", "9123")
    monkeypatch.setenv("CTIBRIDGE_WRAP_UP_SECONDS", "5")
    s = Settings.load(write(tmp_path, "server: {port: 8000}\nwrap_up_seconds: 20\n"))
    assert s.server.port == 9123 and s.wrap_up_seconds == 5


def test_every_error_is_reported_with_its_field(tmp_path: Path) -> None:
    path = write(tmp_path, "server: {port: 70000}\nwrap_up_seconds: -1\nbogus: 1\n")
    with pytest.raises(ConfigError) as err:
        Settings.load(path)
    msg = err.value.message
    assert "3 error(s)" in msg
    assert "server.port" in msg and "wrap_up_seconds" in msg and "bogus" in msg
    assert {e["field"] for e in err.value.details["errors"]} >= {"server.port", "bogus"}


def test_an_agent_on_an_unknown_platform_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "agents:\n  - {id: a, name: A, extension: '1', platform: pbx}\n")
    with pytest.raises(ConfigError) as err:
        Settings.load(path)
    assert "platform 'pbx'" in err.value.message


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.load(write(tmp_path, "server:\n  port: [1,\n"))
    assert "line" in err.value.message


def test_a_missing_file_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.load(tmp_path / "nope.yaml")
    assert "does not exist" in err.value.message


def test_the_demo_pops_and_logs_into_the_demo_crm_through_its_shipped_mapping() -> None:
    from ctibridge.crm.mapping import load_mapping

    settings = Settings.demo_settings()
    assert settings.democrm is not None and settings.crm is not None
    crm = load_mapping(settings.crm.mapping, variables={"hub_url": "http://127.0.0.1:8000"})
    assert crm.name == "democrm"
    assert crm.normalize("06 12 34 56 78") == "+33612345678"


def test_call_log_delivery_settings_must_hang_together(tmp_path: Path) -> None:
    path = write(tmp_path, "crm:\n  mapping: m.yaml\n"
                           "  call_log: {timeout_seconds: 90, lease_seconds: 60}\n")
    with pytest.raises(ConfigError) as err:
        Settings.load(path)
    assert "crm.call_log" in err.value.message
    assert "lease_seconds (60) must be longer than timeout_seconds (90)" in err.value.message
    ok = Settings.load(write(tmp_path, "crm:\n  mapping: m.yaml\n  call_log: {max_attempts: 5}\n"))
    assert ok.crm is not None and ok.crm.call_log.max_attempts == 5
    assert ok.crm.call_log.lease_seconds == 60
