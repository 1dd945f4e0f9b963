"""``type: csta`` in the configuration, and CSTA negative acknowledgements -> our codes."""

from __future__ import annotations

import pytest

from ctibridge.clock import SystemClock
from ctibridge.config import TelephonySettings
from ctibridge.model.errors import CapabilityMissing, ConfigError, PlatformError
from ctibridge.telephony import registry
from ctibridge.telephony.base import Capability, TelephonyConnector
from ctibridge.telephony.csta.connector import CstaConnector
from ctibridge.telephony.csta.errors import to_cti_error
from ctibridge.telephony.csta.message import CstaError


def test_type_csta_builds_a_connector_from_the_config() -> None:
    spec = TelephonySettings(name="avaya", type="csta", options={
        "dialect": "avaya", "host": "aes.example.net", "username": "u", "password": "p",
        "devices": ["2001", "2002"]})
    registry.validate(spec)
    conn = registry.build(spec, SystemClock())
    assert isinstance(conn, CstaConnector) and isinstance(conn, TelephonyConnector)
    assert conn.options.effective_port == 4721
    assert Capability.CONSULT in conn.capabilities and Capability.ROUTE not in conn.capabilities


@pytest.mark.parametrize(("options", "field"), [
    ({"dialect": "avaya", "host": "h", "devices": ["1"]}, "username and password"),
    ({"dialect": "nortel", "host": "h", "devices": ["1"]}, "options.dialect"),
    ({"dialect": "openscape", "host": "h", "devices": []}, "options.devices"),
    ({"dialect": "openscape", "host": "h", "devices": ["1"], "agent_ids": {"2": "x"}},
     "agent_ids"),
    ({"dialect": "openscape", "host": "h", "devices": ["1"], "colour": "red"},
     "options.colour"),
])
def test_bad_options_name_the_field(options: dict[str, object], field: str) -> None:
    spec = TelephonySettings(name="pbx", type="csta", options=options)
    with pytest.raises(ConfigError) as err:
        registry.validate(spec)
    assert field in err.value.message and err.value.code == "config-invalid"


@pytest.mark.parametrize(("category", "value", "code"), [
    ("operation", "invalidConnectionID", "no-such-call"),
    ("operation", "invalidDeviceID", "no-such-device"),
    ("operation", "invalidCalledDevice", "invalid-number"),
    ("stateIncompatibility", "noCallToAnswer", "not-ringing"),
    ("stateIncompatibility", "noHeldCall", "not-held"),
    ("stateIncompatibility", "somethingNew", "invalid-state"),
    ("systemResourceAvailability", "serviceBusy", "platform-busy"),
    ("security", "anything", "platform-refused"),
])
def test_csta_errors_map_to_stable_codes(category: str, value: str, code: str) -> None:
    err = to_cti_error("AnswerCall", CstaError(category, value), "pbx")
    assert isinstance(err, PlatformError) and err.code == code
    assert err.details["csta"] == f"{category}/{value}"


def test_a_service_the_switch_lacks_is_a_missing_capability() -> None:
    err = to_cti_error("ConferenceCall",
                       CstaError("operation", "requestIncompatibleWithObject"), "pbx")
    assert isinstance(err, CapabilityMissing)
