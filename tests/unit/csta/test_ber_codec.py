"""ECMA-285 BER codec: every message we send or read round-trips, and the bytes are the
ones X.690 prescribes for the ECMA-285 types (checked by hand on three messages)."""

import pytest

from ctibridge.telephony.csta.ber import BerCodec
from ctibridge.telephony.csta.message import (
    Codec,
    ConnectionId,
    CstaDecodeError,
    CstaEncodeError,
    CstaMessage,
    Device,
    Kind,
)

from .ber_examples import EXAMPLES

codec = BerCodec()


def test_is_a_codec() -> None:
    assert isinstance(codec, Codec)
    assert codec.name == "ber"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_round_trip(name: str) -> None:
    msg = EXAMPLES[name]
    assert codec.decode(codec.encode(msg)) == msg


def test_make_call_bytes_follow_x690() -> None:
    # ROSE invoke [1] { invokeId 3, opcode local:10 (makeCall), MakeCallArgument {
    #   callingDevice DeviceID { dialingNumber [0] "1001" },
    #   calledDirectoryNumber DeviceID { dialingNumber [0] "0612345678" } } }
    expected = bytes.fromhex(
        "a11e" "020103" "02010a"
        "3016" "3006" "8004" + b"1001".hex() + "300c" "800a" + b"0612345678".hex())
    msg = CstaMessage(Kind.INVOKE, "MakeCall", invoke_id=3, args={
        "callingDevice": Device.of("1001"), "calledDirectoryNumber": Device.of("0612345678")})
    assert codec.encode(msg) == expected
    assert codec.decode(expected) == msg


def test_delivered_event_bytes_follow_x690() -> None:
    # ROSE invoke { invokeId 7, opcode local:21 (cSTAEventReport), CSTAEventReportArgument {
    #   crossRefIdentifier [APPLICATION 21] 00000001,
    #   eventSpecificInfo callControlEvents [0] { delivered [4] IMPLICIT DeliveredEvent {
    #     connection [APPLICATION 11] both { callID [0] 0012, deviceID [1] dynamicID [3] 01020304 },
    #     alertingDevice [APPLICATION 3] "1002", callingDevice [APPLICATION 1] "1001",
    #     calledDevice [APPLICATION 2] "1002",
    #     lastRedirectionDevice [APPLICATION 4] notRequired [8],
    #     cause ENUMERATED newCall(22) } } } }
    delivered = (
        "6b0e" "300c" "80020012" "a106" "830401020304"
        "6308" "3006" "8004" + b"1002".hex()
        + "6108" "3006" "8004" + b"1001".hex()
        + "6208" "3006" "8004" + b"1002".hex()
        + "64028800"
        + "0a0116")
    body = "a435" + delivered  # 53 bytes of components
    report = "5504" "00000001" "a037" + body
    arg = "303f" + report
    expected = bytes.fromhex("a147" "020107" "020115" + arg)
    msg = codec.decode(expected)
    assert msg.kind is Kind.EVENT and msg.name == "DeliveredEvent"
    assert msg.cross_ref == "0x00000001"
    assert msg.connection("connection") == ConnectionId("0x0012", "0x01020304")
    assert msg.device_id("alertingDevice") == "1002"
    assert msg.text("cause") == "newCall"
    assert codec.encode(msg) == expected


def test_universal_failure_bytes_follow_x690() -> None:
    # ROSE returnError [3] { invokeId 5, errcode local:1 (universalFailure),
    #   UniversalFailure operation [0] invalidDeviceID(12) }
    expected = bytes.fromhex("a30b" "020105" "020101" "a003" "0a010c")
    msg = codec.decode(expected)
    assert msg.kind is Kind.ERROR
    assert (msg.error.category, msg.error.value) == ("operation", "invalidDeviceID")


def test_binary_identifiers_survive_the_round_trip() -> None:
    # An OmniPCX call id is two binary bytes; "0x" text means bytes, never ASCII.
    msg = EXAMPLES["answer-call"]
    assert codec.decode(codec.encode(msg)).connection("callToBeAnswered") == ConnectionId(
        "0x0012", "0x01020304")
    printable = CstaMessage(Kind.INVOKE, "AnswerCall", invoke_id=1, args={
        "callToBeAnswered": ConnectionId("C42", "1001")})
    assert codec.decode(codec.encode(printable)) == printable


@pytest.mark.parametrize("payload", [
    b"", b"\x00", b"\xa1", b"\xa1\x03\x02\x01", b"\x30\x00", b"\xa1\x06\x02\x01\x01\x02\x01\x63",
    b"\xa1\x08\x02\x01\x01\x02\x01\x0a\x30\x00",  # MakeCall without its mandatory devices
    b"\x60\x00",  # AARQ without an application context
])
def test_bad_input_is_a_decode_error_that_keeps_the_bytes(payload: bytes) -> None:
    with pytest.raises(CstaDecodeError) as err:
        codec.decode(payload)
    assert err.value.payload == payload


def test_unknown_operation_is_named() -> None:
    # opcode 99 is no service we know: the error says which code
    with pytest.raises(CstaDecodeError, match="99"):
        codec.decode(bytes.fromhex("a1080201010201633000"))


@pytest.mark.parametrize("msg", [
    CstaMessage(Kind.INVOKE, "NoSuchService", invoke_id=1),
    CstaMessage(Kind.INVOKE, "MakeCall", invoke_id=1, args={"callingDevice": Device.of("1")}),
    CstaMessage(Kind.INVOKE, "MakeCall", invoke_id=1, args={
        "callingDevice": Device.of("1"), "calledDirectoryNumber": Device.of("2"),
        "notAField": "x"}),
    CstaMessage(Kind.EVENT, "DeliveredEvent", args={"cause": "notACause"}),
])
def test_what_ber_cannot_express_is_an_encode_error(msg: CstaMessage) -> None:
    with pytest.raises(CstaEncodeError):
        codec.encode(msg)
