"""The transcript format: what the writer writes is what the reader reads, and
the server's bytes survive any chunking exactly (the format's one promise)."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from ctibridge.recording.asterisk import AmiFraming
from ctibridge.recording.transcript import (
    ReceivedBytes,
    SentBlock,
    TranscriptError,
    TranscriptWriter,
    read_transcript_bytes,
    read_transcript_file,
)
from tests.needs import shared_fixtures

FIXTURES = shared_fixtures() / "asterisk"
ALL = sorted(p.name for p in FIXTURES.glob("*.ami"))


def strip(data: bytes) -> bytes:
    """The README's rule: drop the header and the >>> lines -> the received bytes."""
    lines = data.split(b"\r\n")
    i = 0
    while lines[i].startswith(b"# "):
        i += 1
    kept = [x for x in lines[i:] if not x.startswith(b">>>")]
    return b"\r\n".join(kept)


@pytest.mark.parametrize("name", ALL)
def test_every_shared_capture_reads_back_to_the_bytes_the_client_received(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    t = read_transcript_file(FIXTURES / name)
    assert t.server_bytes == strip(data)
    assert t.header and t.header[0].startswith("ctibridge AMI fixture")
    login = next(p for p in t.parts if isinstance(p, SentBlock))
    assert login.lines[0].startswith(b"Action: ")
    # The line numbers point at the file's own lines.
    lines = data.split(b"\r\n")
    assert lines[login.line - 1] == b">>> " + login.lines[0]
    first = next(p for p in t.parts if isinstance(p, ReceivedBytes))
    assert lines[first.line - 1] + b"\r\n" == first.data.split(b"\r\n", 1)[0] + b"\r\n"


@pytest.mark.parametrize("seed", range(20))
def test_writing_a_capture_again_in_random_chunks_gives_the_same_stream(seed: int) -> None:
    rnd = random.Random(seed)
    source = read_transcript_file(FIXTURES / rnd.choice(ALL))
    out = io.BytesIO()
    w = TranscriptWriter(out, AmiFraming(), ["ctibridge transcript: again", "protocol: x"])
    for part in source.parts:
        if isinstance(part, SentBlock):
            w.sent(part.raw)
            continue
        data, i = part.data, 0
        while i < len(data):
            n = rnd.choice([1, 2, 7, 100, 4096, 65536])
            w.received(data[i:i + n])
            i += n
    w.close()
    again = read_transcript_bytes(out.getvalue())
    assert again.server_bytes == source.server_bytes
    assert [p.lines for p in again.parts if isinstance(p, SentBlock)] == [
        tuple(b"Secret: ********" if x.startswith(b"Secret:") else
              b"Key: ********" if x.startswith(b"Key:") else x for x in p.lines)
        for p in source.parts if isinstance(p, SentBlock)]


def test_a_sent_block_never_lands_inside_a_server_message() -> None:
    out = io.BytesIO()
    w = TranscriptWriter(out, AmiFraming(), [])
    w.received(b"Asterisk Call Manager/11.0.0\r\nEvent: Newchannel\r\nChannel: Lo")
    w.sent(b"Action: Ping\r\nActionID: 1\r\n\r\n")
    w.received(b"cal/1@x-1;1\r\n\r\nResponse: Success\r\nActionID: 1\r\n\r\n")
    w.close()
    assert out.getvalue() == (
        b"Asterisk Call Manager/11.0.0\r\n"
        b">>> Action: Ping\r\n>>> ActionID: 1\r\n>>> \r\n"
        b"Event: Newchannel\r\nChannel: Local/1@x-1;1\r\n\r\n"
        b"Response: Success\r\nActionID: 1\r\n\r\n")


def test_secrets_and_md5_keys_are_masked_whatever_their_case() -> None:
    out = io.BytesIO()
    w = TranscriptWriter(out, AmiFraming(), [])
    w.sent(b"Action: Login\r\nUsername: u\r\nsecret: hunter2\r\n\r\n")
    w.sent(b"Action: Login\nKEY: 0123456789abcdef\n\n")  # LF-only client
    w.close()
    text = out.getvalue()
    assert b"hunter2" not in text and b"0123456789abcdef" not in text
    assert text.count(b"********") == 2
    assert text == (b">>> Action: Login\r\n>>> Username: u\r\n>>> secret: ********\r\n>>> \r\n"
                    b">>> Action: Login\r\n>>> KEY: ********\r\n>>> \r\n")


def test_a_file_with_lf_line_ends_is_refused_with_a_reason(tmp_path: Path) -> None:
    p = tmp_path / "edited.ami"
    p.write_bytes(b"Asterisk Call Manager/11.0.0\nEvent: FullyBooted\n\n")
    with pytest.raises(TranscriptError, match="CRLF"):
        read_transcript_file(p)
    with pytest.raises(TranscriptError, match="cannot read"):
        read_transcript_file(tmp_path / "missing.ami")
