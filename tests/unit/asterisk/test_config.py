"""Options of the Asterisk connector: validation errors name the field."""

from __future__ import annotations

from typing import Any

import pytest

from ctibridge.clock import FakeClock
from ctibridge.config import TelephonySettings
from ctibridge.model.errors import ConfigError
from ctibridge.telephony import registry
from ctibridge.telephony.asterisk.config import parse_options
from ctibridge.telephony.asterisk.connector import AsteriskConnector
from ctibridge.telephony.base import Capability, TelephonyConnector

GOOD: dict[str, Any] = {
    "host": "pbx.example.org", "username": "ctibridge", "secret": "s3cret",
    "queues": ["support"],
    "agents": {"6001": {"interface": "PJSIP/6001", "name": "Agent 6001"}},
}


def test_the_connector_is_found_by_its_entry_point_and_built_from_options() -> None:
    spec = TelephonySettings(name="pbx", type="asterisk", options=GOOD)
    conn = registry.build(spec, FakeClock())
    assert isinstance(conn, AsteriskConnector) and isinstance(conn, TelephonyConnector)
    assert conn.name == "pbx" and conn.opts.effective_port == 5038
    assert conn.opts.agents["6001"].dial_string == "PJSIP/6001"


def test_tls_defaults_to_the_ami_tls_port() -> None:
    assert parse_options("pbx", {**GOOD, "tls": True}).effective_port == 5039


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"port": 70000}, "options.port", "less than or equal to 65535"),
    ({"host": ""}, "options.host", "at least 1 character"),
    ({"secret": None}, "options.secret", "string"),
    ({"auth": "sha1"}, "options.auth", "'plain' or 'md5'"),
    ({"agents": {"6001": {"interface": "6001"}}}, "options.agents.6001.interface",
     "not an Asterisk interface"),
    ({"agents": {"6001": {"interface": "PJSIP/6001"}, "6002": {"interface": "PJSIP/6001"}}},
     "options.agents", "given to both 6001 and 6002"),
    ({"region": "france"}, "options.region", "pattern"),
    ({"variables": ["CUSTOMER ID"]}, "options.variables", "not a channel variable"),
    ({"reconnect_min": 10, "reconnect_max": 5}, "options", "reconnect_max"),
    ({"tls_ca": "/nonexistent/ca.pem"}, "options", "no file /nonexistent/ca.pem"),
    ({"unknown_option": 1}, "options.unknown_option", "Extra inputs are not permitted"),
    ({"ari": {"url": "ftp://x", "username": "a", "password": "b"}}, "options.ari.url",
     "pattern"),
])
def test_a_wrong_option_is_named_in_the_error(change: dict[str, Any], field: str,
                                               words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_options("pbx", {**GOOD, **change})
    err = caught.value
    assert err.code == "config-invalid"
    assert f"telephony 'pbx' {field}" in err.message and words in err.message
    assert any(e["field"].startswith(field) for e in err.details["errors"])


def test_the_secret_is_never_echoed_in_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_options("pbx", {**GOOD, "secret": "", "port": "x"})
    assert "s3cret" not in caught.value.message
    assert "options.secret" in caught.value.message


def test_validate_options_is_the_hook_for_config_check() -> None:
    AsteriskConnector.validate_options("pbx", GOOD)
    with pytest.raises(ConfigError, match="options.username"):
        AsteriskConnector.validate_options("pbx", {"host": "x", "secret": "y"})


def test_variables_are_stored_without_inheritance_underscores() -> None:
    assert parse_options("pbx", {**GOOD, "variables": ["__ACCOUNT", "_X"]}).variables == [
        "ACCOUNT", "X"]


def test_what_each_capability_needs() -> None:
    def caps(**more: object) -> frozenset[Capability]:
        return AsteriskConnector.from_options("pbx", {**GOOD, **more}, FakeClock()).capabilities

    ari = {"url": "http://pbx:8088/ari", "username": "u", "password": "p"}
    off = {"hold_context": None, "conference_context": None}
    assert {Capability.HOLD, Capability.CONFERENCE} <= caps(ari=ari, **off)
    assert Capability.ANSWER not in caps(ari=ari)  # a ringing phone is never in Stasis
    # AMI alone, with the documented dialplan contexts (the defaults)
    assert {Capability.HOLD, Capability.CONFERENCE} <= caps()
    assert not {Capability.HOLD, Capability.CONFERENCE} & caps(**off)
    assert Capability.ANSWER in caps(answer_notify_event="talk")
    assert Capability.MUTE not in caps(ari=ari, hold_context="h", answer_notify_event="talk")
