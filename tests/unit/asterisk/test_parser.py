"""The AMI framing: recorded traffic, other projects' samples, and properties."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ctibridge.telephony.asterisk.ami import (
    AmiParser,
    Banner,
    Message,
    ParseError,
    encode_pairs,
    parse_all,
)
from tests.needs import shared_fixtures

from .fake_ami import FIXTURES, transcript

PEERS = shared_fixtures() / "peers" / "ami"


def frames(data: bytes, *, chunk: int | None = None, banner: bool = False) -> list[object]:
    p = AmiParser(expect_banner=banner)
    out: list[object] = []
    if chunk is None:
        out += p.feed(data)
    else:
        for i in range(0, len(data), chunk):
            out += p.feed(data[i:i + chunk])
    return out + p.feed_eof()


# ----------------------------------------------------------- recorded traffic


@pytest.mark.parametrize("name", sorted(p.name for p in Path(FIXTURES).glob("*.ami")))
def test_every_recorded_session_parses_without_error_whatever_the_chunking(name: str) -> None:
    data = transcript(name).server_bytes
    whole = frames(data, banner=True)
    assert isinstance(whole[0], Banner) and whole[0].text == "Asterisk Call Manager/11.0.0"
    assert not [f for f in whole if isinstance(f, ParseError)]
    assert all(isinstance(f, Message) and f.kind in ("event", "response") for f in whole[1:])
    assert frames(data, chunk=7, banner=True) == whole
    assert frames(data, chunk=1, banner=True)[:40] == whole[:40]


def test_a_status_dump_keeps_every_repeated_variable_in_order() -> None:
    data = transcript("13-resync-mid-call.ami").server_bytes
    status = [f for f in frames(data, banner=True)
              if isinstance(f, Message) and f.name == "Status"]
    caller = next(m for m in status if m["Uniqueid"] == "1795572767.61")
    variables = caller.getall("Variable")
    assert variables[0] == "BRIDGEPEER=Local/6001@agents-0000001f;1"
    assert {"IVR_CHOICE=support", "ACCOUNT=ACME-77", "CUSTOMER_ID=C-1042"} <= set(variables)
    assert len(variables) == 31  # counted in the transcript
    assert caller.get("Privilege") == "Call"


def test_an_originate_response_is_an_event_even_though_it_has_response_and_actionid() -> None:
    data = transcript("05b-click-to-call-agent-no-answer.ami").server_bytes
    resp = next(f for f in frames(data, banner=True)
                if isinstance(f, Message) and f.name == "OriginateResponse")
    assert resp.is_event and not resp.is_response
    assert resp["Response"] == "Failure" and resp["Uniqueid"] == "<unknown>"
    assert resp.action_id == "c2c-0002"


def test_values_keep_colons_and_empty_values_stay_empty() -> None:
    [m] = parse_all(b"Event: X\r\nAppData: a:b, c/d\r\nAccountCode: \r\nEmpty:\r\n\r\n")
    assert isinstance(m, Message)
    assert m["AppData"] == "a:b, c/d" and m["AccountCode"] == "" and m["Empty"] == ""
    assert m.get("accountcode") == ""  # keys are case-insensitive


def test_lf_only_and_whitespace_lines_end_messages_too() -> None:
    out = parse_all(b" \nEvent: A\nX: 1\n\nEvent: B\n \n")
    assert [f.name for f in out if isinstance(f, Message)] == ["A", "B"]


def test_a_malformed_message_is_reported_and_the_next_one_is_read() -> None:
    data = (b"Event: Good1\r\nA: 1\r\n\r\n"
            b"Event: Broken\r\nthis line has no colon\r\nB: 2\r\n\r\n"
            b"Event: Good2\r\nC: 3\r\n\r\n")
    out = parse_all(data)
    assert [type(f).__name__ for f in out] == ["Message", "ParseError", "Message"]
    err = out[1]
    assert isinstance(err, ParseError)
    assert "line 2 is not 'Key: Value'" in err.reason and b"Event: Broken" in err.raw
    assert isinstance(out[2], Message) and out[2]["C"] == "3"


def test_a_connection_cut_mid_message_is_reported_at_eof() -> None:
    p = AmiParser(expect_banner=True)
    assert p.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: Hangup\r\nChan") == [
        Banner("Asterisk Call Manager/11.0.0")]
    [err] = p.feed_eof()
    assert isinstance(err, ParseError)
    assert err.reason == "connection closed in the middle of a message"
    assert err.raw.startswith(b"Event: Hangup")


def test_an_oversized_message_is_dropped_up_to_its_end() -> None:
    p = AmiParser(expect_banner=False, max_message_bytes=100)
    out = p.feed(b"Event: Big\r\n" + b"X: " + b"y" * 200 + b"\r\n" + b"Z: 1\r\n\r\n"
                 + b"Event: Small\r\n\r\n")
    assert isinstance(out[0], ParseError) and "longer than 100 bytes" in out[0].reason
    assert isinstance(out[1], Message) and out[1].name == "Small"
    p2 = AmiParser(expect_banner=False, max_message_bytes=100)
    [err] = p2.feed(b"x" * 500)  # no newline at all: bounded too
    assert isinstance(err, ParseError) and p2.pending == 0


def test_legacy_command_output_is_kept_as_output() -> None:
    data = (PEERS / "panoramisk" / "rasterisk_command.yaml").read_bytes()
    resp = [f for f in parse_all(data) if isinstance(f, Message)][1]
    assert resp.name == "Follows" and resp.action_id == "generated_id"
    assert resp["Output"].splitlines()[1:] == ["0 active channels", "0 active calls",
                                               "2 calls processed"]


def test_actions_are_encoded_with_crlf_and_refuse_header_injection() -> None:
    assert encode_pairs([("Action", "Ping"), ("ActionID", "a-1")]) == \
        b"Action: Ping\r\nActionID: a-1\r\n\r\n"
    with pytest.raises(ValueError, match="line break"):
        encode_pairs([("Action", "Originate"), ("Exten", "1\r\nAction: Command")])
    with pytest.raises(ValueError, match="header name"):
        encode_pairs([("Bad Key", "x")])


# ---------------------------------------------------- other projects' samples

PEER_EXPECT = {
    # file: (messages, errors) — errors are the deliberately damaged blocks
    "panoramisk/agent_loggued_in.yaml": (161, 2),  # "[N bytes missing in capture file]"
    "panoramisk/agent_not_in_pause.yaml": (60, 1),  # last block unterminated
    "panoramisk/originate_with_events.yaml": (749, 1),  # last block unterminated
    "panoramisk/pjsip_show_endpoint.yaml": (6, 1),  # last block unterminated
    "panoramisk/command_core_show_version.yaml": (2, 0),
    "panoramisk/sip_notify.yaml": (2, 0),
    "panoramisk/queue_status.yaml": (9, 0),
    "panoramisk/login_md5.yaml": (2, 0),
    "goami2/fixtures_test.go.getAmiFixtureCall.raw": (49, 0),
    "goami2/fixtures_test.go.getAmiFixtureQueues.raw": (42, 0),
    "goami2/fixtures_test.go.getAmiFixtureConfBridge.raw": (23, 0),
}


@pytest.mark.parametrize("name", sorted(PEER_EXPECT))
def test_peer_samples_parse_and_damaged_blocks_are_reported(name: str) -> None:
    data = (PEERS / name).read_bytes()
    out = parse_all(data, expect_banner=data.startswith(b"Asterisk Call Manager"))
    msgs = [f for f in out if isinstance(f, Message)]
    errors = [f for f in out if isinstance(f, ParseError)]
    assert (len(msgs), len(errors)) == PEER_EXPECT[name]
    assert frames(data, chunk=13, banner=data.startswith(b"Asterisk")) == out


def test_repeated_keys_and_quotes_in_a_peer_sample() -> None:
    data = (PEERS / "panoramisk" / "sip_notify.yaml").read_bytes()
    action = next(f for f in parse_all(data) if isinstance(f, Message))
    assert len(action.getall("Variable")) == 7
    assert 'Beep=\\"yes\\"' in action.getall("Variable")[3]


def test_chanvariable_lines_repeat_in_a_chan_sip_capture() -> None:
    data = (PEERS / "goami2" / "fixtures_test.go.getAmiFixtureCall.raw").read_bytes()
    msgs = [f for f in parse_all(data) if isinstance(f, Message)]
    assert any(len(m.getall("ChanVariable")) > 1 for m in msgs)


# --------------------------------------------------------------- properties

KEY = st.sampled_from(["Channel", "Uniqueid", "Linkedid", "Variable", "Value", "ActionID",
                       "CallerIDName", "Cause-txt", "CID-CallingPres", "Queue"]) | st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    min_size=1, max_size=12)
VALUE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                max_size=30).map(str.strip)
MESSAGE = st.lists(st.tuples(KEY, VALUE), min_size=1, max_size=8).map(
    lambda pairs: [("Event", "E")] + pairs)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.lists(st.integers(1, 64), max_size=30))
def test_arbitrary_bytes_never_crash_the_parser(data: bytes, cuts: list[int]) -> None:
    p = AmiParser(expect_banner=True, max_message_bytes=512)
    out: list[object] = []
    pos = 0
    for c in cuts:
        out += p.feed(data[pos:pos + c])
        pos += c
    out += p.feed(data[pos:])
    out += p.feed_eof()
    assert all(isinstance(f, Banner | Message | ParseError) for f in out)
    assert p.pending == 0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(MESSAGE, st.booleans()), min_size=1, max_size=10),
       st.lists(st.integers(1, 50), max_size=40), st.booleans())
def test_valid_messages_survive_garbage_between_them_and_any_split(
    messages: list[tuple[list[tuple[str, str]], bool]], cuts: list[int], lf_only: bool
) -> None:
    """Interleave valid messages with malformed ones: every valid one comes out
    intact and in order, every malformed one is one ParseError."""
    stream = b""
    expected: list[object] = []
    for pairs, garbage_before in messages:
        if garbage_before:
            stream += b"Event: Junk\r\n!!! not a header\r\n\r\n"
            expected.append(ParseError)
        stream += encode_pairs(pairs)
        expected.append(tuple(pairs))
    if lf_only:
        stream = stream.replace(b"\r\n", b"\n")
    p = AmiParser(expect_banner=False)
    out: list[object] = []
    pos = 0
    for c in cuts:
        out += p.feed(stream[pos:pos + c])
        pos += c
    out += p.feed(stream[pos:]) + p.feed_eof()
    got = [ParseError if isinstance(f, ParseError) else f.pairs for f in out]  # type: ignore[union-attr]
    assert got == expected


@functools.cache
def recording_07() -> tuple[bytes, list[object]]:
    data = transcript("07-attended-transfer.ami").server_bytes
    return data, frames(data, banner=True)


@settings(max_examples=100)
@given(st.integers(0, 2800), st.integers(1, 400))
def test_a_recording_truncated_anywhere_parses_up_to_the_cut(start: int, length: int) -> None:
    data, full = recording_07()
    out = frames(data[: start * 50 + length], banner=True)
    msgs = [f for f in out if isinstance(f, Message)]
    errs = [f for f in out if isinstance(f, ParseError)]
    assert len(errs) <= 1  # only the message cut short, at the end
    if errs:
        assert out[-1] is errs[0]
    assert full[1:1 + len(msgs)] == msgs
