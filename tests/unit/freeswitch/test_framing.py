"""ESL framing: Content-Length framing that survives any TCP chunking, and loses nothing.

Inputs are the real captures (shared/fixtures/freeswitch), the ESL samples of three
other projects (shared/fixtures/peers/esl), and frames generated from the protocol.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctibridge.recording.esl import read_esl_file
from ctibridge.telephony.freeswitch.esl import (
    EslError,
    EslParser,
    Frame,
    ParseError,
    frame,
    parse_event,
)

from .fake_esl import FIXTURES, PEERS

CAPTURES = sorted(p.name for p in FIXTURES.glob("*.esl"))
PEER_FILES = sorted(str(p.relative_to(PEERS)) for p in PEERS.rglob("*")
                    if p.is_file() and p.suffix != ".md")


def server_bytes(name: str) -> bytes:
    return read_esl_file(FIXTURES / name).server_bytes


def parse_all(data: bytes, chunks: list[int] | None = None) -> list[Frame | ParseError]:
    p = EslParser()
    out: list[Frame | ParseError] = []
    if chunks is None:
        out.extend(p.feed(data))
    else:
        pos = 0
        for n in chunks:
            out.extend(p.feed(data[pos:pos + n]))
            pos += n
        out.extend(p.feed(data[pos:]))
    out.extend(p.finish())
    return out


def accounted(data: bytes, out: list[Frame | ParseError]) -> int:
    """Bytes of frames and errors, plus the LF separators between them: equal to
    ``len(data)`` when nothing was lost (and nothing counted twice)."""
    total = 0
    pos = 0
    for f in sorted(out, key=lambda x: x.offset):
        size = f.size if isinstance(f, Frame) else len(f.raw) + f.skipped
        if f.offset < pos:
            return -1  # overlapping: a byte counted twice
        gap = data[pos:f.offset]
        total += gap.count(b"\n") + gap.count(b"\r") + size
        pos = f.offset + size
    gap = data[pos:]
    return total + gap.count(b"\n") + gap.count(b"\r")


@pytest.mark.parametrize("name", CAPTURES)
def test_every_real_capture_frames_without_error_and_every_event_decodes(name: str) -> None:
    data = server_bytes(name)
    out = parse_all(data)
    assert all(isinstance(f, Frame) for f in out), [str(f) for f in out if not isinstance(f, Frame)]
    assert accounted(data, out) == len(data)
    events = [parse_event(f) for f in out if isinstance(f, Frame) and f.is_event]
    assert all(e.name for e in events)


@given(st.data())
def test_the_same_frames_whatever_the_chunking(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(CAPTURES))
    raw = server_bytes(name)
    chunks = data.draw(st.lists(st.integers(1, 4096), max_size=400))
    assert parse_all(raw, chunks) == parse_all(raw)


@given(st.data())
def test_one_byte_at_a_time_near_the_frame_boundaries(data: st.DataObject) -> None:
    raw = server_bytes("10-agent-status.esl")  # api replies without a final LF
    chunks = data.draw(st.lists(st.integers(1, 3), min_size=200, max_size=2000))
    assert parse_all(raw, chunks) == parse_all(raw)


_NAME = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=":"),
                min_size=1, max_size=20)
_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@given(st.lists(st.tuples(st.dictionaries(_NAME.filter(lambda n: n.lower() != "content-length"),
                                          _VALUE, min_size=1, max_size=6),
                          st.binary(max_size=300)), min_size=1, max_size=20),
       st.lists(st.integers(1, 64), max_size=100))
def test_generated_frames_come_back_as_sent(frames: list[tuple[dict[str, str], bytes]],
                                            chunks: list[int]) -> None:
    sent = [frame(body, **{k.replace("-", "_"): v for k, v in headers.items()})
            for headers, body in frames]
    wire = b"".join(f.to_bytes() for f in sent)
    got = parse_all(wire, chunks)
    assert [(f.headers, f.body) for f in got if isinstance(f, Frame)] == \
        [(f.headers, f.body) for f in sent]


def test_a_body_without_final_lf_runs_into_the_next_frame() -> None:
    # 10-agent-status: `callcenter_config agent get status` answers "Available".
    raw = server_bytes("10-agent-status.esl")
    assert b"Content-Length: 9\n\nAvailableContent-" in raw
    bodies = [f.body for f in parse_all(raw) if isinstance(f, Frame)
              and f.content_type == "api/response"]
    assert b"Available" in bodies


def test_the_join_lf_of_the_transcript_is_not_server_data() -> None:
    t = read_esl_file(FIXTURES / "10-agent-status.json.esl")
    # JSON bodies end with "}"; a ">>> " block after one has a join LF in the file only.
    assert b"}\n>>> " not in t.server_bytes
    out = parse_all(t.server_bytes)
    assert all(isinstance(f, Frame) for f in out)


@pytest.mark.parametrize("path", PEER_FILES)
def test_every_peer_sample_frames_and_loses_nothing(path: str) -> None:
    data = (PEERS / path).read_bytes()
    out = parse_all(data)
    assert accounted(data, out) == len(data)
    for f in out:
        if isinstance(f, ParseError):
            assert f.message and f.raw  # says what is wrong, keeps the bytes
        elif f.is_event:
            try:
                ev = parse_event(f)
            except EslError as exc:
                assert str(exc)  # a clear reason, the frame itself kept
            else:
                assert ev.name


@pytest.mark.parametrize(("name", "says"), [
    ("empty-header-name.esl", "invalid name ''"),
    ("header-name-with-surrounding-whitespace.esl", "invalid name 'Content-Type '"),
    ("invalid-content-length.esl", "Content-Length is not a number"),
    ("missing-header-colon.esl", "has no colon"),
])
def test_malformed_header_blocks_are_one_clear_error_each(name: str, says: str) -> None:
    data = (PEERS / "esl-core" / "malformed" / name).read_bytes()
    out = parse_all(data)
    assert isinstance(out[0], ParseError) and says in out[0].message


@pytest.mark.parametrize(("name", "says"), [
    ("event-plain-missing-inner-terminator.esl", "without the empty line"),
    ("event-plain-inner-body-truncated.esl", "Content-Length says 12"),
])
def test_malformed_plain_events_are_refused_with_the_reason(name: str, says: str) -> None:
    data = (PEERS / "esl-core" / "malformed" / name).read_bytes()
    f = next(x for x in parse_all(data) if isinstance(x, Frame))
    with pytest.raises(EslError, match=says):
        parse_event(f)


@pytest.mark.parametrize(("name", "says"), [
    ("api-response-body-truncated-partial.bin", "bytes short of a 12-byte body"),
    ("auth-request-missing-terminator-partial.bin", "inside a header block"),
])
def test_a_stream_cut_short_is_reported_with_its_bytes(name: str, says: str) -> None:
    data = (PEERS / "esl-core" / "partial" / name).read_bytes()
    p = EslParser()
    assert p.feed(data) == []  # still waiting: not an error yet
    errors = p.finish()
    assert len(errors) == 1 and says in errors[0].message and errors[0].raw == data


def test_plain_and_json_events_decode_to_the_same_headers() -> None:
    plain = parse_all((PEERS / "esl-core/live/events/channel-bridge-loopback-plain.esl")
                      .read_bytes())
    js = parse_all((PEERS / "esl-core/live/events/channel-bridge-loopback-json.esl")
                   .read_bytes())
    a = parse_event(next(f for f in plain if isinstance(f, Frame)))
    b = parse_event(next(f for f in js if isinstance(f, Frame)))
    assert a.name == b.name == "CHANNEL_BRIDGE"
    assert a.get("Caller-Caller-ID-Name") == b.get("Caller-Caller-ID-Name")


def test_a_background_job_body_is_the_inner_content_length() -> None:
    data = (PEERS / "esl-core/sequences/bgapi-acceptance-and-completion.esl").read_bytes()
    out = [f for f in parse_all(data) if isinstance(f, Frame)]
    reply, job = out
    assert reply.get("Job-UUID") or "Job-UUID" in reply.reply_text
    ev = parse_event(job)
    assert ev.name == "BACKGROUND_JOB" and ev.body == "-ERR no reply yet\n"


def test_url_encoded_values_are_decoded_and_json_values_kept() -> None:
    raw = server_bytes("01-inbound-answered.esl")
    ev = next(parse_event(f) for f in parse_all(raw) if isinstance(f, Frame) and f.is_event
              and b"Jean%20Dupont" in f.body)
    assert "Jean Dupont" in ev.headers.values()
    body = json.dumps({"Event-Name": "X", "A": "50%20off", "_body": "hi"}).encode()
    js = parse_event(frame(body, Content_Type="text/event-json"))
    assert js.get("A") == "50%20off" and js.body == "hi"


def test_an_oversized_frame_is_skipped_as_one_error() -> None:
    big = frame(b"x" * 5000, Content_Type="api/response").to_bytes()
    small = frame(b"+OK", Content_Type="api/response").to_bytes()
    p = EslParser(max_frame_bytes=1000)
    out = p.feed(big[:100]) + p.feed(big[100:] + small)
    assert isinstance(out[0], ParseError) and "over the limit" in out[0].message
    assert out[0].skipped == 5000
    assert isinstance(out[1], Frame) and out[1].body == b"+OK"


def test_fixture_paths_exist() -> None:
    assert CAPTURES and PEER_FILES and Path(FIXTURES).is_dir()
