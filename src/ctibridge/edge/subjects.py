"""Names the edge and the cloud agree on: one place (docs/deployment.md#hybrid-edge).

Everything starts with the cloud cluster's name and the edge's id, so several sites
(and test runs) share one NATS system without mixing.
"""

from __future__ import annotations

from dataclasses import dataclass

MSG_ID = "Nats-Msg-Id"  # JetStream drops a re-sent event with the same id (a lost ack)

# What a connector's commands are called on the wire, with their arguments in order.
# The union of TelephonyConnector, RoutableConnector and SupervisableConnector.
OPS: dict[str, tuple[str, ...]] = {
    "make_call": ("device", "number", "attached"),
    "answer": ("ref", "device"),
    "hangup": ("ref", "device"),
    "hold": ("ref", "device"),
    "retrieve": ("ref", "device"),
    "blind_transfer": ("ref", "device", "target"),
    "consult": ("ref", "device", "target"),
    "complete_transfer": ("ref", "consult_ref", "device"),
    "cancel_consult": ("ref", "consult_ref", "device"),
    "conference": ("ref", "consult_ref", "device"),
    "dtmf": ("ref", "device", "digits"),
    "mute": ("ref", "device", "on"),
    "set_agent_state": ("device", "status", "reason"),
    "deliver": ("ref", "device"),
    "monitor": ("ref", "target", "device", "mode"),
}


def _stream_part(text: str) -> str:
    return text.replace(".", "_").replace("-", "_")


@dataclass(frozen=True)
class EdgeNames:
    cluster: str
    edge_id: str

    @property
    def base(self) -> str:
        return f"{self.cluster}.edge.{self.edge_id}"

    @property
    def heartbeat(self) -> str:  # core NATS, not kept: the edge is alive and what it runs
        return f"{self.base}.hb"

    def events(self, platform: str) -> str:  # kept in the leaf's JetStream
        return f"{self.base}.{platform}.ev"

    def command(self, platform: str) -> str:  # request/reply
        return f"{self.base}.{platform}.cmd"

    def resync(self, platform: str) -> str:  # request/reply: emit a fresh PlatformResynced
        return f"{self.base}.{platform}.resync"

    def stream(self, platform: str) -> str:
        """The edge's stream of one platform's events, in the leaf's domain."""
        return _stream_part(f"{self.cluster.upper()}_EDGE_{self.edge_id}_{platform}")

    def mirror(self, platform: str) -> str:
        """The cloud's copy of it (a JetStream mirror across the leaf link)."""
        return _stream_part(f"{self.cluster.upper()}_EDGEIN_{self.edge_id}_{platform}")

    @property
    def consumer(self) -> str:  # the cloud core's durable cursor on the mirror
        return "core"
