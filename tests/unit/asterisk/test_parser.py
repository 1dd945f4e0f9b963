"""The AMI framing: recorded traffic, other projects' samples, and properties."""

from __future__ import annotations

import functools
import random
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
    iter_messages,
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
    assert resp.output.splitlines()[1:] == ["0 active channels", "0 active calls",
                                            "2 calls processed"]
    assert resp["Privilege"] == "Command"


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
    "panoramisk/sip_notify.yaml": (2, 0),
    "panoramisk/queue_status.yaml": (9, 0),
    "panoramisk/login_md5.yaml": (2, 0),
    # goami2's literals lost a few blank lines: the merged messages come out apart.
    "goami2/fixtures_test.go.getAmiFixtureCall.raw": (51, 0),  # 49 blocks, 2 merged
    "goami2/fixtures_test.go.getAmiFixtureQueues.raw": (45, 0),  # 42 blocks, 3 merged
    "goami2/fixtures_test.go.getAmiFixtureConfBridge.raw": (25, 0),  # 23 blocks, 2 merged
    "goami2/fixtures_test.go.getAmiFixtureQueueMembers.raw": (9, 0),
    "panoramisk/asyncagi_channel_does_not_exist.yaml": (2, 0),  # Response: Error, 2 blanks
    "panoramisk/login_failed.yaml": (2, 0),  # banner, action, Response: Error
    "panoramisk/command_core_show_version.yaml": (2, 0),
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
# Field keys never are Event/Response: such a line starts the next message.
FIELD_KEY = KEY.filter(lambda k: k.lower() not in ("event", "response"))
MESSAGE = st.lists(st.tuples(FIELD_KEY, VALUE), min_size=1, max_size=8).map(
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


# ------------------------------------------- never drop, never merge (issue 12)


def reference(data: bytes, *, banner: bool) -> list[object]:
    """The framing rules, written the plain way (whole input, one line at a time):
    a blank line ends a message; an ``Event:``/``Response:`` line starts one
    (``Response:`` is a field of OriginateResponse and UserEvent); a message with
    a line that is not ``Key: Value`` is an error; what EOF cuts is an error.
    For streams without ``Response: Follows``."""
    lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in data.split(b"\n")]
    partial = lines.pop()  # what follows the last line end (a line cut by EOF)
    out: list[object] = []
    if banner:
        while lines and not lines[0].strip():
            lines.pop(0)
        if lines and (b":" not in lines[0] or lines[0].lower().startswith(b"asterisk call")):
            out.append(Banner(lines.pop(0).strip().decode()))
    current: list[bytes] = []

    def header(line: bytes) -> tuple[str, str] | None:
        text = line.decode("utf-8", "replace")
        key, sep, value = text.partition(":")
        if not sep or not key or any(c in key for c in " \t"):
            return None
        return key, value[1:] if value.startswith(" ") else value

    def close(cut: bool) -> None:
        if not current:
            return
        heads = [header(ln) for ln in current]
        raw = b"\n".join(current)
        if cut:
            out.append(("error", "cut", raw.strip()[:400]))
        elif any(h is None for h in heads):
            out.append(("error", "malformed", raw.strip()[:400]))
        else:
            out.append(tuple(h for h in heads if h is not None))
        current.clear()

    for line in lines:
        if not line.strip():
            close(False)
            continue
        h = header(line)
        if current and h is not None:
            first = header(current[0])
            carries = (first is not None and first[0].lower() == "event"
                       and first[1].strip().lower() in ("originateresponse", "userevent"))
            if h[0].lower() == "event" or (h[0].lower() == "response" and not carries):
                close(False)
        current.append(line)
    if partial.strip():
        current.append(partial)
    close(True)
    return out


def comparable(out: list[object]) -> list[object]:
    """Parser frames in the reference's terms."""
    shown: list[object] = []
    for f in out:
        if isinstance(f, Message):
            shown.append(f.pairs)
        elif isinstance(f, ParseError):
            kind = "cut" if "closed" in f.reason else "malformed"
            shown.append(("error", kind, f.raw))
        else:
            shown.append(f)
    return shown


def chunked(data: bytes, rnd: random.Random, *, banner: bool) -> list[object]:
    """Feed ``data`` cut at random places (single bytes, lines, 64 KiB reads)."""
    p = AmiParser(expect_banner=banner)
    out: list[object] = []
    pos = 0
    while pos < len(data):
        size = rnd.choice((1, 2, 3, rnd.randint(1, 100), rnd.randint(1, 5000), 65536))
        out += p.feed(data[pos:pos + size])
        pos += size
    return out + p.feed_eof()


OWN = Path(__file__).resolve().parents[2] / "fixtures" / "asterisk"


def all_samples() -> list[tuple[str, bytes, bool]]:
    """Every real recording (server bytes: the shared ones and the project's own
    captures of the lab Asterisk) and every AMI peer sample, read in place."""
    out = [(p.name, transcript(p.name).server_bytes, True)
           for p in sorted(Path(FIXTURES).glob("*.ami"))]
    out += [(f"own/{p.name}", transcript(str(p)).server_bytes, True)
            for p in sorted(OWN.glob("*.ami"))]
    for p in sorted(PEERS.glob("*/*")):
        data = p.read_bytes()
        out.append((f"{p.parent.name}/{p.name}", data, data.startswith(b"Asterisk Call")))
    return out


SAMPLES = all_samples()
WITH_FOLLOWS = {name for name, data, _ in SAMPLES if b"Response: Follows" in data}


@pytest.mark.parametrize(("name", "data", "banner"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_every_sample_gives_the_same_messages_whatever_the_chunking(
    name: str, data: bytes, banner: bool
) -> None:
    whole = frames(data, banner=banner)
    if name not in WITH_FOLLOWS:
        assert comparable(whole) == reference(data, banner=banner)
    for seed in range(8):
        assert chunked(data, random.Random(seed), banner=banner) == whole, f"seed {seed}"


@pytest.mark.parametrize(("name", "data", "banner"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_every_sample_with_extra_blank_lines_loses_nothing(
    name: str, data: bytes, banner: bool
) -> None:
    """The issue's case: one (or three) extra blank lines after every message,
    read in 64 KiB chunks, must give the same messages as the original."""
    whole = frames(data, banner=banner)
    for extra in (b"\r\n", b"\r\n \r\n\n"):
        padded = data.replace(b"\n\r\n", b"\n\r\n" + extra).replace(b"\n\n", b"\n\n" + extra)
        assert frames(padded, chunk=65536, banner=banner) == whole
        assert chunked(padded, random.Random(len(extra)), banner=banner) == whole


def test_the_recording_with_an_extra_blank_line_per_message_keeps_all_191() -> None:
    data = transcript("06-blind-transfer.ami").server_bytes
    padded = data.replace(b"\r\n\r\n", b"\r\n\r\n\r\n")
    msgs = [f for f in frames(padded, chunk=65536, banner=True) if isinstance(f, Message)]
    assert len(msgs) == data.count(b"\r\n\r\n") == len(
        [f for f in frames(data, banner=True) if isinstance(f, Message)])


def test_a_missing_blank_line_never_merges_two_messages() -> None:
    """goami2's call capture lost the blank line before a DialEnd ANSWER: merged,
    the answer was lost (and the call came out cancelled)."""
    data = (PEERS / "goami2" / "fixtures_test.go.getAmiFixtureCall.raw").read_bytes()
    msgs = [f for f in parse_all(data) if isinstance(f, Message)]
    answer = [m for m in msgs if m.name == "DialEnd" and m["DialStatus"] == "ANSWER"]
    assert len(answer) == 1 and answer[0]["Uniqueid"] == "1598887681.60"
    newexten = next(m for m in msgs if m.name == "Newexten" and m["AppData"] == "saveDialedChannel")
    assert "DialStatus" not in newexten and newexten["Uniqueid"] == "1598887681.61"
    # goami2's queue capture: a list's Complete event glued to the next response.
    data = (PEERS / "goami2" / "fixtures_test.go.getAmiFixtureQueues.raw").read_bytes()
    msgs = [f for f in parse_all(data) if isinstance(f, Message)]
    complete = next(m for m in msgs if m.name == "QueueStatusComplete")
    assert "Response" not in complete and complete["ListItems"] == "3"
    assert any(m.is_response and m.action_id == "e87c0c83a9c4c@okon.ferry.sip.com"
               for m in msgs)


def test_response_is_a_field_of_originate_response_and_user_event_only() -> None:
    data = (b"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: c-1\r\n"
            b"Response: Failure\r\nChannel: Local/6001@agents-phone\r\nReason: 3\r\n"
            b"Event: UserEvent\r\nUserEvent: Survey\r\nResponse: 5\r\n"
            b"Event: Hangup\r\nUniqueid: 1.1\r\n"
            b"Response: Success\r\nActionID: a-2\r\nPing: Pong\r\n\r\n")
    msgs = parse_all(data)
    assert [(m.kind, m.name) for m in msgs if isinstance(m, Message)] == [
        ("event", "OriginateResponse"), ("event", "UserEvent"), ("event", "Hangup"),
        ("response", "Success")]
    assert msgs[0]["Response"] == "Failure" and msgs[1]["Response"] == "5"  # type: ignore[index]
    # A UserEvent carries the headers its sender chose, "Action:" included.
    data = (PEERS / "panoramisk" / "agent_loggued_in.yaml").read_bytes()
    user = next(m for m in iter_messages(parse_all(data)) if m.name == "UserEvent")
    assert user["Action"] == "UserEvent" and user["AgentNumber"] == "402"


def test_a_real_response_error_is_a_response() -> None:
    data = (PEERS / "panoramisk" / "asyncagi_channel_does_not_exist.yaml").read_bytes()
    [_action, resp] = parse_all(data)
    assert isinstance(resp, Message) and resp.is_response and resp.name == "Error"
    assert resp["Message"].startswith("Channel") and resp["Message"].endswith("does not exist.")
    data = transcript("10b-login-failed.ami").server_bytes
    out = frames(data, banner=True)
    assert [f.name for f in out if isinstance(f, Message)] == ["Error"]
    assert out[-1] == Message((("Response", "Error"), ("ActionID", "login-bad"),
                               ("Message", "Authentication failed")))


def test_command_output_of_asterisk_14_and_later() -> None:
    # main/manager.c action_command: one "Output:" line per CLI line (blank ones too).
    data = (b"Response: Success\r\nActionID: c-1\r\nMessage: Command output follows\r\n"
            b"Output: Channel              Location             State   Application(Data)\r\n"
            b"Output: \r\nOutput: 0 active channels\r\nOutput: 0 active calls\r\n\r\n")
    [resp] = frames(data, chunk=5)
    assert isinstance(resp, Message) and resp.name == "Success"
    assert resp.output.splitlines() == [
        "Channel              Location             State   Application(Data)", "",
        "0 active channels", "0 active calls"]


def test_legacy_command_output_may_hold_blank_lines_and_header_like_lines() -> None:
    # Asterisk 11-13 (manager.c action_command): the CLI text as is, then the marker.
    body = (b"[ Context 'default' created by 'pbx_config' ]\n"
            b"  '6001' =>          1. Dial(Local/6001@agents)          [extensions.conf:3]\n"
            b"\n"
            b"[ Context 'agents' created by 'pbx_config' ]\n"
            b"Event: text that looks like a header (not after a blank line)\n"
            b"\n\n"
            b"-= 1 extension (1 priority) in 1 context. =-\n")
    data = (b"Response: Follows\r\nPrivilege: Command\r\nActionID: d-1\r\n" + body
            + b"--END COMMAND--\r\n\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
    whole = frames(data)
    assert frames(data, chunk=1) == whole == frames(data, chunk=17)
    resp, booted = whole
    assert isinstance(resp, Message) and resp.action_id == "d-1"
    assert resp.output == body.decode().rstrip("\n")
    assert isinstance(booted, Message) and booted.name == "FullyBooted"


def test_legacy_command_output_without_its_marker_ends_at_the_next_message() -> None:
    data = (b"Response: Follows\r\nPrivilege: Command\r\nActionID: d-1\r\nsome text\r\n\r\n"
            b"more text\r\n\r\nEvent: Hangup\r\nUniqueid: 1.2\r\n\r\n"
            b"Response: Follows\r\nPrivilege: Command\r\n\r\n"  # goami2: no body at all
            b"Event: Hangup\r\nUniqueid: 1.3\r\n\r\n")
    out = frames(data)
    assert frames(data, chunk=3) == out
    assert [(f.name, f.output) for f in out if isinstance(f, Message)] == [
        ("Follows", "some text\n\nmore text"), ("Hangup", ""), ("Follows", ""), ("Hangup", "")]


def test_a_huge_value_in_small_reads() -> None:
    value = "x" * 900_000
    data = (b"Event: VarSet\r\nVariable: BLOB\r\nValue: " + value.encode() + b"\r\n\r\n"
            b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\n")
    p = AmiParser(expect_banner=False)
    out: list[object] = []
    for i in range(0, len(data), 100):
        out += p.feed(data[i:i + 100])
    varset, hangup = out
    assert isinstance(varset, Message) and varset["Value"] == value
    assert isinstance(hangup, Message) and hangup.name == "Hangup" and p.pending == 0


def test_messages_without_blank_lines_are_not_taken_for_an_oversized_one() -> None:
    one = b"Event: Newexten\r\nUniqueid: 1.1\r\nAppData: " + b"y" * 50 + b"\r\n"
    p = AmiParser(expect_banner=False, max_message_bytes=1000)
    out: list[object] = []
    for _ in range(100):  # 10 KB, never a blank line
        out += p.feed(one)
    out += p.feed(b"\r\n") + p.feed_eof()
    assert len(out) == 100 and all(isinstance(f, Message) for f in out)


# A message for the properties: it starts like Asterisk's (Event or Response).
HUGE = st.sampled_from([0, 0, 0, 0, 1, 4]).map(lambda n: "h" * (n * 50_000))  # sometimes huge
START = st.sampled_from([("Event", "Newchannel"), ("Event", "Hangup"),
                         ("Response", "Success"), ("Response", "Error"),
                         ("Event", "OriginateResponse")])
REAL_MESSAGE = st.tuples(START, st.lists(st.tuples(FIELD_KEY, VALUE), max_size=6), HUGE).map(
    lambda t: [t[0], *t[1], *([("Value", t[2])] if t[2] else []),
               *([("Response", "Failure")] if t[0][1] == "OriginateResponse" else [])])
SEPARATOR = st.sampled_from(["", "\r\n", "\r\n\r\n", "\n", " \r\n\t\r\n", "\r\n\r\n\r\n\r\n"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(REAL_MESSAGE, SEPARATOR), min_size=1, max_size=12),
       st.randoms(use_true_random=False), st.booleans(), st.booleans())
def test_any_blank_lines_any_chunking_huge_values_same_messages(
    messages: list[tuple[list[tuple[str, str]], str]], rnd: random.Random, lf_only: bool,
    banner: bool,
) -> None:
    """Extra blank lines, missing ones, LF or CRLF, huge values, any TCP chunking:
    every message comes out once, intact, in order."""
    stream = b"Asterisk Call Manager/11.0.0\r\n" if banner else b""
    for i, (pairs, extra) in enumerate(messages):
        block = encode_pairs(pairs)
        after = messages[i + 1][0][0][0] if i + 1 < len(messages) else ""
        if pairs[0][1] == "OriginateResponse" and after == "Response" and not extra:
            extra = "\r\n"  # there "Response:" is a field: only a blank line can end it
        if not extra:  # no blank line at all: the next Event/Response line ends it
            block = block[:-2]
        stream += block + extra.encode()
    if lf_only:
        stream = stream.replace(b"\r\n", b"\n")
    out = chunked(stream, rnd, banner=banner)
    if banner:
        assert out.pop(0) == Banner("Asterisk Call Manager/11.0.0")
    last_cut = not messages[-1][1]  # the last message never got its blank line
    want = [tuple(p) for p, _ in messages]
    if last_cut:
        assert isinstance(out[-1], ParseError) and "closed" in out[-1].reason
        out, want = out[:-1], want[:-1]
    assert [f.pairs if isinstance(f, Message) else f for f in out] == want


@pytest.mark.parametrize("name", sorted(p.name for p in Path(FIXTURES).glob("*.ami")))
def test_every_recording_with_no_blank_line_at_all_gives_the_same_messages(name: str) -> None:
    """The hardest case of a missing blank line: none anywhere. Each message still
    starts with Event:/Response:, so each still comes out on its own."""
    data = transcript(name).server_bytes
    whole = [f for f in frames(data, banner=True) if isinstance(f, Message)]
    squeezed = data.replace(b"\r\n\r\n", b"\r\n") + b"\r\n"
    out = chunked(squeezed, random.Random(1), banner=True)
    got = [f for f in out if isinstance(f, Message)]
    # Where a Response follows an OriginateResponse, it is read as that event's field.
    glued = sum(1 for a, b in zip(whole, whole[1:], strict=False)
                if a.name in ("OriginateResponse", "UserEvent") and b.is_response)
    assert len(got) == len(whole) - glued
    if not glued:
        assert got == whole
