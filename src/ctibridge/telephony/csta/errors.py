"""CSTA negative acknowledgements -> our stable error codes.

ECMA-269 "Error values" (the CSTAErrorCode categories), ECMA-323 element
names. One table; a value not listed keeps the category's code. The CSTA pair
is kept in the details.
"""

from __future__ import annotations

from ...model.errors import CapabilityMissing, CtiError, PlatformError
from .message import CstaError

_BY_VALUE: dict[str, str] = {
    # operation errors
    "invalidCallID": "no-such-call",
    "invalidConnectionID": "no-such-call",
    "invalidCstaCallIdentifier": "no-such-call",
    "invalidCstaConnectionIdentifier": "no-such-call",
    "invalidDeviceID": "no-such-device",
    "invalidCstaDeviceIdentifier": "no-such-device",
    "invalidCallingDevice": "no-such-device",
    "invalidCalledDevice": "invalid-number",
    "invalidDestination": "invalid-number",
    "invalidForwardingDestination": "invalid-number",
    "valueOutOfRange": "bad-request",
    "invalidCrossRefID": "no-such-monitor",
    "privilegeViolationOnSpecifiedDevice": "platform-refused",
    "privilegeViolationOnCalledDevice": "platform-refused",
    "privilegeViolationOnCallingDevice": "platform-refused",
    # state incompatibility errors
    "noCallToAnswer": "not-ringing",
    "noHeldCall": "not-held",
    "noActiveCall": "not-on-call",
    "noCallToClear": "not-on-call",
    "noConnectionToClear": "not-on-call",
    "noCallToComplete": "not-on-call",
    "invalidObjectState": "invalid-state",
    "incorrectObjectState": "invalid-state",
    # resource availability
    "deviceBusy": "device-busy",
    "resourceBusy": "platform-busy",
    "serviceBusy": "platform-busy",
    "outOfResources": "platform-busy",
}
_BY_CATEGORY: dict[str, str] = {
    "operation": "platform-refused",
    "stateIncompatibility": "invalid-state",
    "systemResourceAvailability": "platform-busy",
    "subscribedResourceAvailability": "platform-refused",
    "performanceManagement": "platform-busy",
    "security": "platform-refused",
    "privateData": "platform-refused",
    "unspecified": "platform-refused",
}
# The switch does not offer the service at all: a capability question, not a failure.
_UNSUPPORTED = {"requestIncompatibleWithObject", "invalidFeature", "serviceNotSupported",
                "subscribedResourceNotAvailable"}


def code_for(error: CstaError) -> str:
    return _BY_VALUE.get(error.value) or _BY_CATEGORY.get(error.category, "platform-refused")


def to_cti_error(service: str, error: CstaError | None, platform: str) -> CtiError:
    if error is None:
        return PlatformError(f"{platform}: {service} refused without a reason",
                             code="platform-refused", platform=platform)
    text = f"{platform}: {service} refused by the switch ({error.category}: {error.value})"
    if error.value in _UNSUPPORTED:
        return CapabilityMissing(text, platform=platform, csta=f"{error.category}/{error.value}")
    return PlatformError(text, code=code_for(error), platform=platform,
                         csta=f"{error.category}/{error.value}")
