"""Replay a recorded AMI session through the parser and the normalizer.

Server bytes go through :class:`AmiParser` and are routed as the client does:
responses and list items (events carrying the ActionID of a list action) are
not events. Where the recording shows the client sending a command that the
connector would send, the normalizer is told what the connector tells it
(``expect_originate`` for a click-to-call, ``expect_consult`` for Atxfer) and
the event the connector emits at that moment is recorded too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ctibridge.telephony.asterisk.ami import AmiParser, Banner, Message, ParseError
from ctibridge.telephony.asterisk.config import AsteriskOptions
from ctibridge.telephony.asterisk.normalizer import Normalizer
from ctibridge.telephony.asterisk.transcript import Sent

from .fake_ami import transcript

AT = datetime(2026, 11, 25, 2, 5, tzinfo=UTC)

AGENTS: dict[str, dict[str, Any]] = {
    "6001": {"interface": "Local/6001@agents", "dial": "Local/6001@agents-phone",
             "state_interface": "Custom:6001", "name": "Agent 6001"},
    "6002": {"interface": "Local/6002@agents", "dial": "Local/6002@agents-phone",
             "state_interface": "Custom:6002", "name": "Agent 6002"},
    "6003": {"interface": "Local/6003@agents", "state_interface": "Custom:6003",
             "name": "Agent 6003"},
}


def options(**over: Any) -> AsteriskOptions:
    base: dict[str, Any] = {"host": "127.0.0.1", "username": "ctibridge",
                            "secret": "ctibridge-secret", "queues": ["support"],
                            "agents": AGENTS, "originate_context": "from-internal",
                            "transfer_context": "internal"}
    base.update(over)
    return AsteriskOptions.model_validate(base)


# The state a resync would have found before each recording (its header's
# "setup before login": 6001 and 6002 in queue support, unpaused).
SETUP_MEMBERS = {"6001": {"support": (False, None)}, "6002": {"support": (False, None)}}


class Replay:
    def __init__(self, name: str, *, consult_ref: str = "consult-1",
                 originate_ref: str = "c2c-ref", **over: Any) -> None:
        self.name = name
        self.normalizer = Normalizer(options(**over), lambda: AT)
        self.normalizer.set_members(SETUP_MEMBERS)
        self.consult_ref = consult_ref
        self.originate_ref = originate_ref
        self.events: list[Any] = []
        self.parse_errors: list[ParseError] = []
        self.banner: Banner | None = None
        self.responses: dict[str, Message] = {}
        self.sent: list[Sent] = []

    def run(self) -> list[Any]:
        parser = AmiParser(expect_banner=True)
        lists: set[str] = set()
        n = self.normalizer
        for part in transcript(self.name).parts:
            if isinstance(part, Sent):
                self.sent.append(part)
                self._command(part)
                continue
            for frame in parser.feed(part.data):
                if isinstance(frame, Banner):
                    self.banner = frame
                elif isinstance(frame, ParseError):
                    self.parse_errors.append(frame)
                elif frame.is_response:
                    if frame.action_id:
                        self.responses[frame.action_id] = frame
                        if (frame.get("EventList") or "").lower() == "start":
                            lists.add(frame.action_id)
                elif frame.action_id in lists:
                    if (frame.get("EventList") or "").lower() == "complete":
                        lists.discard(frame.action_id)
                else:
                    self.events.extend(n.feed(frame))
        assert not parser.feed_eof()
        return self.events

    def _command(self, sent: Sent) -> None:
        m = sent.message
        action = sent.action.lower()
        n = self.normalizer
        if action == "originate" and m.get("Context") == "from-internal":
            device = (m.get("CallerID") or "").rsplit("<", 1)[-1].rstrip(">")
            self.events.append(n.expect_originate(
                ref=self.originate_ref, device=device, number=m["Exten"], dial=m["Channel"],
                action_id=m["ActionID"]))
        elif action == "atxfer" and m["Channel"] in n.by_name:
            # (the connector refuses an Atxfer on a channel it does not know)
            chan = n.by_name[m["Channel"]]
            conv = chan.leg.conv
            assert conv is not None and chan.leg.device
            self.events.append(n.expect_consult(ref=conv.ref, device=chan.leg.device,
                                                consult_ref=self.consult_ref,
                                                target=m["Exten"]))
