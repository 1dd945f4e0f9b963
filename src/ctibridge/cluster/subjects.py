"""Subject, stream and bucket names: one place for what the nodes agree on.

Everything is named after the cluster's ``name`` (settings ``cluster.name``), so
that several clusters (or test runs) can share one NATS account without mixing.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from ..core.notifier import SUPERVISORS

LEASE_KEY = "core"
FENCE_HEADER = "Ctib-Fence"
SEQ_HEADER = "Ctib-Seq"


def token(agent_id: str) -> str:
    """An agent id as one subject token: ids are free text, tokens may not hold
    dots, spaces or wildcards. Plain ids stay readable."""
    if agent_id and all(c.isalnum() or c in "-_" for c in agent_id) and agent_id.isascii():
        return agent_id
    return "~" + base64.urlsafe_b64encode(agent_id.encode()).decode().rstrip("=")


def _untoken(tok: str) -> str:
    if tok.startswith("~"):
        return base64.urlsafe_b64decode(tok[1:] + "=" * (-len(tok[1:]) % 4)).decode()
    return tok


@dataclass(frozen=True)
class Names:
    cluster: str = "ctib"

    @property
    def events(self) -> str:  # <cluster>.ev.a.<agent> and <cluster>.ev.sup: one per scope
        return f"{self.cluster}.ev"

    @property
    def presence(self) -> str:  # <cluster>.pr.<agent>: directory entries, not kept
        return f"{self.cluster}.pr"

    @property
    def snapshot(self) -> str:  # request/reply to the core
        return f"{self.cluster}.snap"

    @property
    def command(self) -> str:
        return f"{self.cluster}.cmd"

    @property
    def directory(self) -> str:
        return f"{self.cluster}.dir"

    @property
    def http(self) -> str:  # REST requests a follower hands to the core (forward.py)
        return f"{self.cluster}.http"

    @property
    def ticket(self) -> str:  # request to every node: "who issued this ticket?"
        return f"{self.cluster}.ticket"

    @property
    def stream(self) -> str:  # the JetStream stream of events
        return f"{self.cluster.upper().replace('.', '_').replace('-', '_')}_EVENTS"

    @property
    def bucket(self) -> str:  # the key-value bucket of the core's lease
        return f"{self.cluster.replace('.', '_')}_lease"

    def stream_subject(self, stream: str) -> str:
        """The subject of a notifier stream (an agent id, or the supervisors')."""
        return f"{self.events}.sup" if stream == SUPERVISORS else \
            f"{self.events}.a.{token(stream)}"

    def stream_of(self, subject: str) -> str | None:
        """The notifier stream a subject carries (None: not an event subject)."""
        if subject == f"{self.events}.sup":
            return SUPERVISORS
        prefix = f"{self.events}.a."
        return _untoken(subject[len(prefix):]) if subject.startswith(prefix) else None

    def presence_subject(self, agent_id: str) -> str:
        return f"{self.presence}.{token(agent_id)}"
