"""Reading one client frame of the agent socket: JSON text in, a dict or a refusal out.

Nothing a client sends may raise out of here: every way JSON text can fail to
become a frame (syntax, an integer longer than Python reads, nesting deeper
than the parser recurses, a ``\\u`` escape that is no character) is a
:class:`Refusal` with the documented code and a sentence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Command ids are echoed in answers and remembered for retries: keep them small.
MAX_ID_CHARS = 128
MAX_ID_INT = 2**53  # what a browser's Number holds exactly


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str
    id: str | int | None = None


FrameId = str | int | None


def read_frame(text: str) -> tuple[dict[str, Any], FrameId] | Refusal:
    """Parse ``text`` into a frame and its id, or say why it is refused."""
    try:
        frame = json.loads(text)
    except json.JSONDecodeError as exc:
        return Refusal("bad-json", f"the message is not valid JSON ({exc.msg})")
    except ValueError:  # Python's int limit: "Exceeds the limit (4300 digits)…"
        return Refusal("bad-json", "the message holds a number too long to be read")
    except RecursionError:  # hostile: "[[[[…" deeper than the parser recurses
        return Refusal("bad-json", "the message is nested too deeply to be read")
    if "\\u" in text and has_lone_surrogate(frame):  # only escapes can make one
        # "\ud800" is valid JSON but no character: echoed back, it could not be sent.
        return Refusal("bad-json", "the message holds a \\u escape that is not a character "
                                   "(a lone UTF-16 surrogate)")
    if not isinstance(frame, dict):
        return Refusal("bad-message", "a message must be a JSON object")
    fid = frame.get("id")
    if fid is None:
        return frame, None
    if isinstance(fid, bool) or not isinstance(fid, str | int):
        return Refusal("bad-message", "'id' must be a string or an integer")
    if isinstance(fid, str) and len(fid) > MAX_ID_CHARS:
        return Refusal("bad-message", f"'id' may be at most {MAX_ID_CHARS} characters")
    if isinstance(fid, int) and not -MAX_ID_INT <= fid <= MAX_ID_INT:
        return Refusal("bad-message", "an integer 'id' must be within ±2^53")
    return frame, fid


def id_key(fid: str | int) -> tuple[str, str | int]:
    """The retry cache's key: ``1`` and ``"1"`` are two different commands."""
    return ("i" if isinstance(fid, int) else "s", fid)


def has_lone_surrogate(value: Any) -> bool:
    """Whether a parsed JSON value holds a string UTF-8 cannot encode."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):
        return False  # not a surrogate problem; the frame is read as is
    return False


def encode(frame: dict[str, Any]) -> str:
    """A frame as compact JSON text that UTF-8 can carry (escaped if it must be)."""
    text = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(frame, separators=(",", ":"))
    return text
