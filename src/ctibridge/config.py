"""Configuration: one YAML file plus ``CTIBRIDGE_*`` environment overrides.

Environment variables use ``__`` to reach nested fields, e.g.
``CTIBRIDGE_SERVER__PORT=9000`` or ``CTIBRIDGE_DATABASE__URL=postgresql://…``.
Errors are collected by pydantic and reported all at once, each with the
field's path and what was expected (see :func:`format_errors`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from . import yamlsafe
from .model.errors import ConfigError
from .model.party import Channel
from .redact import is_secret_name
from .redact import text as redact_text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Label(_Strict):
    en: str
    fr: str


class Coded(_Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")
    label: Label


class LimitSettings(_Strict):
    """What one client may hold of the server (docs/security.md#limits)."""

    # Request bodies: login and the rest of the REST API (webhooks use digital.*.max_body_bytes).
    login_body_bytes: int = Field(4 * 1024, ge=256, le=1024 * 1024)
    body_bytes: int = Field(64 * 1024, ge=1024, le=64 * 1024 * 1024)
    # A request's head (request line + headers) must arrive whole within this, and be at most
    # header_bytes long: a client trickling its headers (slowloris) is cut off.
    header_timeout_seconds: float = Field(10.0, gt=0, le=300)
    header_bytes: int = Field(16 * 1024, ge=1024, le=1024 * 1024)
    # The whole body must arrive within this, once its head has.
    body_timeout_seconds: float = Field(30.0, gt=0, le=3600)
    # An idle keep-alive connection is closed after this.
    keep_alive_seconds: float = Field(5.0, gt=0, le=300)
    # Open connections (HTTP and WebSocket) from one address; 0: no cap (behind a reverse
    # proxy every client has the proxy's address: let the proxy cap them instead).
    connections_per_ip: int = Field(256, ge=0)
    # Open connections in all; over it new ones are closed at once.
    max_connections: int = Field(4096, ge=1)
    # New connections accepted per second, in all (a burst of twice as many is let in).
    # Beyond it the hub stops accepting for a moment: connections wait in the kernel's
    # queue instead of taking the event loop from the sockets already open (a connection
    # flood). 10,000 bars reconnecting at once take about 10 s at the default.
    accept_per_second: float = Field(1000.0, gt=0)
    # permessage-deflate on the agent socket: the bar's small JSON frames shrink ~5x on
    # the wire, but each socket then holds a compressor (~40 KiB with uvicorn's settings,
    # most of what a bar costs the hub). Off for large centers on a LAN.
    ws_compression: bool = True
    # The agent socket (docs/protocol/agent-websocket.md#limits; its message size and
    # rate are server.max_message_bytes and server.rate_*).
    # Open agent sockets per user (several tabs and devices are normal); more are
    # refused at the handshake (close 4029).
    ws_per_user: int = Field(10, ge=1, le=1000)
    # A socket still over its message rate this long into a run over it is closed (1008).
    ws_rate_grace_seconds: float = Field(3.0, ge=0, le=300)
    # One frame's send may take this long; a socket that cannot take it is cut (4008).
    ws_send_timeout_seconds: float = Field(10.0, gt=0, le=300)
    # Bytes of events queued for one socket before it is cut as a slow consumer (4008).
    ws_send_queue_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)
    # Snapshots carry at most this many live calls / interactions (the oldest first);
    # the counts beyond are given in the snapshot's ``truncated``.
    snapshot_calls: int = Field(1000, ge=10)
    snapshot_interactions: int = Field(500, ge=10)
    # Attached data of a call or an interaction, as it arrives from a platform: each
    # value cut to attached_value_chars, keys beyond attached_keys or the total dropped.
    attached_value_chars: int = Field(1000, ge=16)
    attached_total_chars: int = Field(8000, ge=256)
    attached_keys: int = Field(50, ge=1)


class OpsSettings(_Strict):
    """Who may read /metrics and the detailed /readyz (docs/operations.md)."""

    # A second listener (e.g. 9100 on 127.0.0.1) serving only /metrics, /readyz and /healthz
    # without login, for a scraper on a private network. None: no second listener.
    port: int | None = Field(None, ge=1, le=65535)
    host: str = "127.0.0.1"
    # A bearer token a scraper may send instead of a user's token (Prometheus
    # `authorization: {credentials: ...}`); admins' and supervisors' tokens also work.
    token: SecretStr | None = None

    @field_validator("token")
    @classmethod
    def _long_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 24:
            raise ValueError("the ops token must be at least 24 characters")
        return v


class GcSettings(_Strict):
    """The garbage collector of ``serve`` (gcpolicy.py): no automatic full collection,
    one on a schedule."""

    # Off: CPython's own schedule (full collections of every object, 0.7-2.5 s with
    # 10,000 bars).
    managed: bool = True
    # A full collection of everything: frees reference cycles (the hub makes few). The
    # one long pause (about a second with thousands of bars). 0: never.
    full_every_hours: float = Field(24.0, ge=0)
    check_seconds: float = Field(60.0, gt=0, le=3600)


class ServerSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    public_url: str | None = None
    # Host names (Host header) the hub answers to, besides localhost, 127.0.0.1, [::1] and
    # public_url's host; anything else gets 400 (DNS rebinding). ["*"]: any host.
    allowed_hosts: list[str] = Field(default_factory=list)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    ops: OpsSettings = Field(default_factory=OpsSettings)
    gc: GcSettings = Field(default_factory=GcSettings)

    @model_validator(mode="after")
    def _ops_port_apart(self) -> ServerSettings:
        if self.ops.port is not None and self.ops.port == self.port:
            raise ValueError(f"server.ops.port must differ from server.port ({self.port}): "
                             "the ops port serves metrics without a login")
        return self
    # Origins allowed to open the agent WebSocket and to embed the bar
    # (postMessage). The hub's own origin is always allowed.
    allowed_origins: list[str] = Field(default_factory=list)
    # Origins the bar may load a CRM's own softphone library from, as the CRM documents
    # it (Salesforce Open CTI: https://<org>.my.salesforce.com). Added to script-src.
    script_origins: list[Annotated[str, Field(pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?$")]] = \
        Field(default_factory=list)
    max_message_bytes: int = Field(64 * 1024, ge=1024)
    # Per-socket command budget: a burst of `rate_burst`, refilled at `rate_per_second`.
    rate_per_second: float = Field(20.0, gt=0)
    rate_burst: int = Field(40, ge=1)
    # Events kept per agent for `resume`; older resumes get a fresh snapshot.
    replay_events: int = Field(500, ge=10)
    # ...and at most this many characters of them per agent (the supervisors' one stream
    # only by count): a bar costs the same memory whatever the size of the center.
    replay_bytes: int = Field(128 * 1024, ge=16 * 1024)
    # ...and all agents' together at most this many on one node, the oldest first to go:
    # 10,000 bars' full buffers would weigh 1.25 GiB, more than everything else they cost.
    replay_total_bytes: int = Field(64 * 1024 * 1024, ge=1024 * 1024)
    # A socket whose outgoing queue exceeds this is closed (4008) and resumes.
    send_queue: int = Field(1000, ge=10)


class LoginSettings(_Strict):
    """Password guessing limits (docs/security.md, "Logins")."""

    # Failures allowed before a lockout, per username and per client address.
    user_failures: int = Field(5, ge=1)
    ip_failures: int = Field(20, ge=1)
    # The first lockout lasts this long, each further failure doubles it, up to the max.
    lockout_seconds: float = Field(1.0, gt=0)
    max_lockout_seconds: float = Field(900.0, gt=0)
    # Failures are forgotten after this long without one.
    forget_after_seconds: float = Field(900.0, gt=0)
    # Password hashing: threads, and logins that may wait for one (more: 503 at once).
    hash_workers: int = Field(2, ge=1, le=64)
    hash_queue: int = Field(16, ge=0)
    # Logins one client address may have in progress at once (more: 429 at once).
    per_ip_in_flight: int = Field(4, ge=1)
    # Passwords checked per second, in all, for logins from unknown addresses: none of
    # their logins succeeded in the last trust_seconds (more: 503 at once). Bounds the CPU a
    # guessing flood from many addresses can take; known addresses are not counted.
    unknown_hashes_per_second: float = Field(1.0, gt=0)
    # ...and how many of them may be saved up: a few people typing their password wrong
    # from a new address never meet the budget.
    unknown_burst: int = Field(20, ge=1)
    trust_seconds: float = Field(7 * 86400.0, gt=0)


# Secret keys published in our docs and examples: a server using one signs tokens anybody can
# forge (an admin's included).
EXAMPLE_SECRET_KEYS = frozenset({"change-me-to-a-long-random-string", "change-me"})
MIN_SECRET_KEY_BYTES = 32


class AuthSettings(_Strict):
    secret_key: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(48)))
    # Access tokens are short; the bar renews them with its refresh token until the
    # session ends (session_ttl_seconds after login) or is revoked (logout, user change).
    token_ttl_seconds: int = Field(15 * 60, ge=60)
    session_ttl_seconds: int = Field(12 * 3600, ge=300)
    ticket_ttl_seconds: int = Field(30, ge=1, le=600)
    login: LoginSettings = Field(default_factory=LoginSettings)

    @field_validator("secret_key")
    @classmethod
    def _strong_key(cls, v: SecretStr) -> SecretStr:
        key = v.get_secret_value()
        how = ("generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))' "
               "and set it in auth.secret_key or CTIBRIDGE_AUTH__SECRET_KEY")
        if key.strip().lower() in EXAMPLE_SECRET_KEYS or key.lower().startswith("change-me"):
            raise ValueError(f"this is the example secret key from the documentation: anyone "
                             f"can sign tokens with it; {how}")
        if len(key.encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(f"the secret key is {len(key.encode())} bytes; it needs at least "
                             f"{MIN_SECRET_KEY_BYTES}; {how}")
        return v


class DatabaseSettings(_Strict):
    url: str = "sqlite:///ctibridge.db"


class AgentConfig(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    name: str
    extension: str = Field(pattern=r"^[0-9A-Za-z*#+_-]{1,32}$")
    platform: str = "sim"
    skills: list[str] = Field(default_factory=list)
    # The agent's user id in the CRM, for a mapping's screen_pop.display (the CRM shows
    # the caller's record on this user's screen, e.g. Zendesk Talk Partner Edition).
    crm_user_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.@:-]{1,128}$")
    # More platforms the agent is on: platform name -> their extension or login
    # there (e.g. {"cc2": "2001", "web": "alice@example.com"}). One availability
    # across all of them: busy on one means paused on the others.
    devices: dict[str, Annotated[str, Field(pattern=r"^[^\s]{1,128}$")]] = Field(
        default_factory=dict)


class TelephonySettings(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    type: str  # entry point name in group ctibridge.telephony, e.g. "simulator"
    options: dict[str, Any] = Field(default_factory=dict)
    # What the agent bar calls this system ("Avaya Paris"); default: the name.
    label: str | None = Field(None, min_length=1, max_length=40)


class StationSettings(_Strict):
    """A phone an agent can log in at: its extension and the telephony platform it is on
    (docs/deployments.md)."""

    extension: str = Field(pattern=r"^[0-9A-Za-z*#+_-]{1,32}$")
    platform: str


class SiteSettings(_Strict):
    """A site: the networks its agents connect from and the telephony platform there."""

    name: str = Field(pattern=r"^[A-Za-z0-9_. -]{1,40}$")
    platform: str
    subnets: list[str] = Field(min_length=1)

    @field_validator("subnets")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"{net!r} is not a network (write it like 10.1.0.0/16)") \
                    from None
        return v


class TrafficSettings(_Strict):
    """Simulated customers calling a simulator (docs/configuration.md, "traffic").

    Either a fixed ``calls_per_minute``, or ``occupancy``: calls sized to the
    agents at work (ready, on a call or in wrap-up) so that talk and wrap-up
    keep each of them busy about that share of the time; none at work, no calls.
    """

    platform: str = "sim"
    calls_per_minute: float | None = Field(None, ge=0)
    occupancy: float | None = Field(None, gt=0, le=1)
    handle_time_seconds: float = Field(90.0, gt=0)
    patience_seconds: float = Field(120.0, gt=0)

    @model_validator(mode="after")
    def _one_rate(self) -> TrafficSettings:
        if self.calls_per_minute is not None and self.occupancy is not None:
            raise ValueError("give calls_per_minute (a fixed rate) or occupancy (a rate "
                             "sized to the agents at work), not both")
        if self.calls_per_minute is None and self.occupancy is None:
            self.calls_per_minute = 3.0
        return self


class CallLogSettings(_Strict):
    """How the call-log worker delivers the outbox (docs/call-logging.md)."""

    # One delivery's time limit (the CRM's log request, lookup included).
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    # Backoff: the first retry after about this, doubling up to max_retry_seconds.
    first_retry_seconds: float = Field(1.0, gt=0, le=3600)
    max_retry_seconds: float = Field(300.0, gt=0, le=86400)
    # After this many failed attempts the row is marked failed (an admin can retry it).
    max_attempts: int = Field(20, ge=1, le=1000)
    # How long a hub holds rows it is delivering before another hub may take them over.
    lease_seconds: float = Field(60.0, gt=0, le=3600)
    # After a write whose outcome is unknown, wait at least this long before checking
    # for it (log.find_existing): a slow CRM may still be finishing it.
    settle_seconds: float = Field(10.0, ge=0, le=3600)
    # 401/403 on a log: retry like an outage (a fixed credential releases the queue),
    # or fail the row at once.
    auth_failures: Literal["retry", "fail"] = "retry"
    # While the CRM refuses our credentials, try at least this often.
    max_auth_retry_seconds: float = Field(60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _coherent(self) -> CallLogSettings:
        if self.lease_seconds <= self.timeout_seconds:
            raise ValueError(f"lease_seconds ({self.lease_seconds:g}) must be longer than "
                             f"timeout_seconds ({self.timeout_seconds:g}), or a slow "
                             f"delivery could be taken over and made twice")
        if self.max_retry_seconds < self.first_retry_seconds:
            raise ValueError("max_retry_seconds must not be shorter than first_retry_seconds")
        return self


class CrmSettings(_Strict):
    """The CRM the hub pops records from and logs interactions into."""

    # Path to a mapping file (see docs/crm-mapping.md); relative to the config file's folder.
    mapping: str
    name: str = Field("crm", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    # Values the mapping's templates can read as ``vars.<name>`` (e.g. a base URL per site).
    variables: dict[str, str] = Field(default_factory=dict)
    # Look the caller up while the call waits in queue, so the pop is ready at offer time.
    prefetch: bool = True
    # How long the bar waits for a lookup before showing "CRM unavailable" (the pop may follow).
    pop_timeout_seconds: float = Field(3.0, gt=0, le=60)
    # Write each finished interaction into the CRM's history (through the outbox).
    log_calls: bool = True
    call_log: CallLogSettings = Field(default_factory=CallLogSettings)


class DemoCrmSettings(_Strict):
    """The built-in demo CRM served at /democrm (for the demo and for trying mappings)."""

    database: str = "sqlite:///ctibridge-democrm.db"
    api_key: str = "demo-crm-key"


class PresenceOverride(_Strict):
    """One agent's differences from the global capacity rules (merged per channel)."""

    capacity: dict[Channel, int] = Field(default_factory=dict)
    blocks: dict[Channel, list[Channel]] = Field(default_factory=dict)

    @field_validator("capacity")
    @classmethod
    def _capacity_range(cls, v: dict[Channel, int]) -> dict[Channel, int]:
        return _check_capacity(v)

    @field_validator("blocks")
    @classmethod
    def _no_self_block(cls, v: dict[Channel, list[Channel]]) -> dict[Channel, list[Channel]]:
        return _check_blocks(v)


DEFAULT_CAPACITY: dict[Channel, int] = {
    Channel.VOICE: 1, Channel.CHAT: 3, Channel.EMAIL: 2, Channel.SMS: 2, Channel.SOCIAL: 2,
}
# A call blocks all digital work (voice is exclusive); live conversations (chat,
# SMS, social) block voice; email blocks nothing, since it can wait during a call.
DEFAULT_BLOCKS: dict[Channel, list[Channel]] = {
    Channel.VOICE: [Channel.CHAT, Channel.EMAIL, Channel.SMS, Channel.SOCIAL],
    Channel.CHAT: [Channel.VOICE],
    Channel.SMS: [Channel.VOICE],
    Channel.SOCIAL: [Channel.VOICE],
    Channel.EMAIL: [],
}


def _check_capacity(v: dict[Channel, int]) -> dict[Channel, int]:
    bad = [f"{c}={n}" for c, n in v.items() if not 0 <= n <= 100]
    if bad:
        raise ValueError(f"capacity must be between 0 and 100 per channel, got {', '.join(bad)}")
    return v


def _check_blocks(v: dict[Channel, list[Channel]]) -> dict[Channel, list[Channel]]:
    selfish = [str(c) for c, targets in v.items() if c in targets]
    if selfish:
        raise ValueError(f"a channel cannot block itself (its capacity does that): "
                         f"{', '.join(selfish)}")
    return v


class PresenceSettings(_Strict):
    """Unified availability: per-channel capacity and which work blocks which channel.

    Channels left out keep their default (so ``capacity: {chat: 5}`` only
    changes chat); a ``blocks`` entry replaces that channel's default list.
    """

    capacity: dict[Channel, int] = Field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    # While an agent carries work on the key channel, the listed channels are closed to them.
    blocks: dict[Channel, list[Channel]] = Field(
        default_factory=lambda: {c: list(t) for c, t in DEFAULT_BLOCKS.items()})
    # Per-agent differences, by agent id (e.g. a chat specialist with capacity 6).
    agents: dict[str, PresenceOverride] = Field(default_factory=dict)

    @field_validator("capacity")
    @classmethod
    def _capacity_defaults(cls, v: dict[Channel, int]) -> dict[Channel, int]:
        return {**DEFAULT_CAPACITY, **_check_capacity(v)}

    @field_validator("blocks")
    @classmethod
    def _blocks_defaults(cls, v: dict[Channel, list[Channel]]) -> dict[Channel, list[Channel]]:
        return {**{c: list(t) for c, t in DEFAULT_BLOCKS.items()}, **_check_blocks(v)}


class Threshold(_Strict):
    """Where a figure turns amber (``warn``) and red (``alert``) on the supervisor page."""

    warn: float = Field(ge=0)
    alert: float = Field(ge=0)


class QueueThresholds(_Strict):
    """Per-queue colours on the supervisor page and the wallboard (docs/supervisor.md).

    Waiting items and the longest wait are bad when high (alert >= warn); the service
    level, in percent, when low (alert <= warn).
    """

    waiting: Threshold | None = None
    longest_wait_seconds: Threshold | None = None
    service_level: Threshold | None = None

    @model_validator(mode="after")
    def _ordered(self) -> QueueThresholds:
        for name in ("waiting", "longest_wait_seconds"):
            th = getattr(self, name)
            if th is not None and th.alert < th.warn:
                raise ValueError(f"{name}: alert ({th.alert:g}) must be at least warn "
                                 f"({th.warn:g}): more waiting is worse")
        sl = self.service_level
        if sl is not None and (sl.warn > 100 or sl.alert > sl.warn):
            raise ValueError(f"service_level: alert ({sl.alert:g}) must be at most warn "
                             f"({sl.warn:g}), both percentages up to 100: a lower level is worse")
        return self


class QueueSettings(_Strict):
    """A universal queue: voice and digital interactions waiting together."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")
    channels: list[Channel] = Field(min_length=1)
    # Skills an agent needs for every interaction of this queue.
    skills: list[str] = Field(default_factory=list)
    # Higher is more urgent; an item gains one level per service-level target waited.
    priority: int = Field(0, ge=-1000, le=1000)
    sl_seconds: float = Field(20.0, gt=0, le=7 * 86400)
    offer_timeout_seconds: float = Field(20.0, gt=0, le=3600)
    selection: Literal["longest_idle", "least_loaded"] = "longest_idle"
    # Colours on the supervisor page and wallboard; none: figures stay uncoloured.
    thresholds: QueueThresholds | None = None


def _unique_queue_names(v: list[QueueSettings]) -> list[QueueSettings]:
    names = [q.name for q in v]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"queue names must be unique, repeated: {', '.join(dup)}")
    return v


QueueList = Annotated[list[QueueSettings], AfterValidator(_unique_queue_names)]


class DigitalSettings(_Strict):
    """A digital platform (email, chat, SMS, social); see docs/digital.md."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    type: str  # entry point name in group ctibridge.digital: "webhook", "simulator"
    options: dict[str, Any] = Field(default_factory=dict)
    # The webhook secret: the environment variable holding it (keeps it out of the
    # file), or the secret itself (demo, tests). Without one the signed webhook is off.
    secret_env: str | None = None
    secret: SecretStr | None = None
    replay_window_seconds: float = Field(300.0, gt=0, le=86400)
    max_body_bytes: int = Field(1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # Phone numbers without a country code are read in this region.
    region: str = Field("FR", pattern=r"^[A-Z]{2}$")

    @model_validator(mode="after")
    def _secret_from_env(self) -> DigitalSettings:
        if self.secret_env is not None:
            value = os.environ.get(self.secret_env)
            if not value:
                raise ValueError(f"secret_env names the environment variable "
                                 f"{self.secret_env}, which is not set")
            self.secret = SecretStr(value)
        if self.secret is not None and len(self.secret.get_secret_value()) < 16:
            raise ValueError("the webhook secret must be at least 16 characters")
        return self


class ClusterSettings(_Strict):
    """Several nodes on NATS JetStream (docs/deployment.md). Absent: one process."""

    nats_url: str = "nats://127.0.0.1:4222"
    # Names the subjects, the event stream and the lease bucket: clusters (or test
    # runs) sharing one NATS account stay apart.
    name: str = Field("ctib", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    # This node's name in logs, /readyz and the lease (default: host name and pid).
    node_id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    # The core's lease: a node that cannot renew it steps down after 2/3 of this, and
    # another takes over once it expired.
    lease_seconds: float = Field(3.0, ge=1.0, le=60.0)
    # How long JetStream keeps events for `resume` on another node (and at most
    # server.replay_events per agent).
    retention_seconds: float = Field(600.0, ge=10.0, le=7 * 86400)
    # A request to the core's node (snapshot, command) fails after this.
    request_timeout_seconds: float = Field(5.0, gt=0, le=60.0)
    # Requests from other nodes (commands, REST) the core's node works on at once; the
    # rest wait their turn. Unbounded, 10,000 bars going not ready at once filled the
    # event loop for seconds and the core lost its lease.
    core_workers: int = Field(32, ge=1, le=1024)
    storage: Literal["file", "memory"] = "file"


class EdgeSettings(_Strict):
    """``ctibridge edge``: connectors on premises, publishing into a NATS leaf node
    (docs/deployment.md#hybrid-edge)."""

    # The local leaf node (on premises); it alone dials out to the cloud.
    nats_url: str = "nats://127.0.0.1:4222"
    # The cloud cluster's ``cluster.name``: the edge's subjects start with it.
    cluster: str = Field("ctib", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    # Names this site in subjects and streams; the cloud's ``type: edge`` platforms
    # give the same ``edge_id``.
    edge_id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    # The leaf node's JetStream domain (its ``jetstream { domain: … }``), where the
    # events are kept across a WAN cut.
    domain: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    # Credentials for the local leaf node, when it asks for them.
    user: str | None = None
    password: SecretStr | None = None
    creds: Path | None = None  # a NATS .creds file (JWT + nkey seed)
    tls_ca: Path | None = None  # the CA of the leaf node's certificate (tls:// URLs)
    heartbeat_seconds: float = Field(1.0, ge=0.2, le=30.0)
    # How much the edge keeps while the cloud cannot read it (a WAN cut): the oldest
    # events go first beyond either limit.
    buffer_seconds: float = Field(86400.0, ge=60.0, le=30 * 86400)
    buffer_bytes: int = Field(1024**3, ge=1024**2)
    storage: Literal["file", "memory"] = "file"


class LogSettings(_Strict):
    json_format: bool = Field(False, alias="json")
    level: Literal["debug", "info", "warning", "error"] = "info"


# The demo's traffic (checked by tests/integration/omnichannel/test_demo_soak.py).
DEMO_OCCUPANCY = 0.6
DEMO_DIGITAL_PER_MINUTE = 0.5

DEFAULT_REASONS = [
    Coded(code="break", label=Label(en="Break", fr="Pause")),
    Coded(code="lunch", label=Label(en="Lunch", fr="Déjeuner")),
    Coded(code="meeting", label=Label(en="Meeting", fr="Réunion")),
    Coded(code="training", label=Label(en="Training", fr="Formation")),
    Coded(code="admin", label=Label(en="Back office", fr="Travail administratif")),
]
DEFAULT_DISPOSITIONS = [
    Coded(code="resolved", label=Label(en="Resolved", fr="Résolu")),
    Coded(code="callback", label=Label(en="Call back", fr="À rappeler")),
    Coded(code="escalated", label=Label(en="Escalated", fr="Escaladé")),
    Coded(code="info", label=Label(en="Information given", fr="Information donnée")),
    Coded(code="wrong-number", label=Label(en="Wrong number", fr="Faux numéro")),
]


class _YamlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


_DATA_KEY = r"^[A-Za-z0-9_]{1,64}$"
# What the simulator's IVR collects (telephony/simulator/customers.py), named for people.
DEFAULT_KEY_LABELS: dict[str, Label] = {
    "customer_id": Label(en="Customer number", fr="N° client"),
    "reason": Label(en="Reason for calling", fr="Motif de l'appel"),
    "language": Label(en="Language", fr="Langue"),
    "subject": Label(en="Subject", fr="Objet"),
}
DEFAULT_VALUE_LABELS: dict[str, dict[str, Label]] = {
    "reason": {
        "billing": Label(en="Billing", fr="Facturation"),
        "delivery": Label(en="Delivery", fr="Livraison"),
        "technical": Label(en="Technical problem", fr="Problème technique"),
        "contract": Label(en="Contract", fr="Contrat"),
        "complaint": Label(en="Complaint", fr="Réclamation"),
        "information": Label(en="Information", fr="Renseignement"),
        "cancellation": Label(en="Cancellation", fr="Résiliation"),
    },
    "language": {"fr": Label(en="French", fr="Français"), "en": Label(en="English", fr="Anglais")},
}


class CallDataLabels(_Strict):
    """How the bar names call data (IVR keys) and their coded values, in EN and FR.

    Entries given here are added to (or replace) the defaults; a key or value with
    no label is shown as it came (docs/configuration.md#call-data-labels).
    """

    keys: dict[str, Label] = Field(default_factory=dict, validate_default=True)
    values: dict[str, dict[str, Label]] = Field(default_factory=dict, validate_default=True)

    @field_validator("keys")
    @classmethod
    def _keys(cls, v: dict[str, Label]) -> dict[str, Label]:
        bad = [k for k in v if not re.match(_DATA_KEY, k)]
        if bad:
            raise ValueError(f"call data keys are 1 to 64 letters, digits or _: {bad[0][:64]!r}")
        return {**DEFAULT_KEY_LABELS, **v}

    @field_validator("values")
    @classmethod
    def _values(cls, v: dict[str, dict[str, Label]]) -> dict[str, dict[str, Label]]:
        bad = [k for k in v if not re.match(_DATA_KEY, k)]
        if bad:
            raise ValueError(f"call data keys are 1 to 64 letters, digits or _: {bad[0][:64]!r}")
        merged = {k: dict(labels) for k, labels in DEFAULT_VALUE_LABELS.items()}
        for key, labels in v.items():
            merged[key] = {**merged.get(key, {}), **labels}
        return merged

    def to_dict(self) -> dict[str, Any]:
        """As the bar gets it in its snapshot."""
        return {"keys": {k: v.model_dump() for k, v in self.keys.items()},
                "values": {k: {c: lab.model_dump() for c, lab in codes.items()}
                           for k, codes in self.values.items()}}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CTIBRIDGE_", env_nested_delimiter="__", extra="forbid"
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    telephony: list[TelephonySettings] = Field(
        default_factory=lambda: [TelephonySettings(name="sim", type="simulator")]
    )
    agents: list[AgentConfig] = Field(default_factory=list)
    # Supervisors' phones, for listening to, whispering to and barging into agents'
    # calls: username -> platform -> their extension there (docs/supervisor.md).
    supervisor_devices: dict[
        str, dict[str, Annotated[str, Field(pattern=r"^[0-9A-Za-z*#+_/-]{1,64}$")]]] = Field(
        default_factory=dict)
    # Stations and sites: the agent's phone chosen at login (docs/deployments.md).
    stations: list[StationSettings] = Field(default_factory=list)
    sites: list[SiteSettings] = Field(default_factory=list)
    reason_codes: list[Coded] = Field(default_factory=lambda: list(DEFAULT_REASONS))
    dispositions: list[Coded] = Field(default_factory=lambda: list(DEFAULT_DISPOSITIONS))
    # Names for call data keys and values in the bar (EN/FR); raw when absent.
    call_data_labels: CallDataLabels = Field(default_factory=CallDataLabels)
    # Long enough to type a note after a real call; the agent ends it sooner with
    # "Save and go ready", and what was typed is kept when it runs out (Interaction.draft).
    wrap_up_seconds: float = Field(120.0, ge=0, le=3600)
    traffic: TrafficSettings | None = None
    crm: CrmSettings | None = None
    democrm: DemoCrmSettings | None = None
    digital: list[DigitalSettings] = Field(default_factory=list)
    presence: PresenceSettings = Field(default_factory=PresenceSettings)
    queues: QueueList = Field(default_factory=list)
    log: LogSettings = Field(default_factory=LogSettings)
    cluster: ClusterSettings | None = None
    edge: EdgeSettings | None = None  # ``ctibridge edge`` only
    demo: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file; init kwargs (the file) come last.
        return (env_settings, init_settings)

    @field_validator("telephony")
    @classmethod
    def _unique_platforms(cls, v: list[TelephonySettings]) -> list[TelephonySettings]:
        names = [t.name for t in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"telephony names must be unique, repeated: {', '.join(sorted(dup))}")
        return v

    @model_validator(mode="after")
    def _agents_consistent(self) -> Settings:
        platforms = {t.name for t in self.telephony}
        every_platform = platforms | {d.name for d in self.digital}
        seen_ids: set[str] = set()
        seen_ext: dict[tuple[str, str], str] = {}
        problems = []
        for i, a in enumerate(self.agents):
            if a.platform not in platforms:
                problems.append(
                    f"agent {a.id!r} is on platform {a.platform!r}, which is not configured "
                    f"(configured: {', '.join(sorted(platforms)) or 'none'})"
                )
            if a.id in seen_ids:
                problems.append(f"agent id {a.id!r} is used twice")
            seen_ids.add(a.id)
            devices = {a.platform: a.extension}
            for platform, device in a.devices.items():
                where = f"agents.{i}.devices.{platform}"
                if platform not in every_platform:
                    problems.append(
                        f"{where}: agent {a.id!r} has a device on {platform!r}, which is not a "
                        f"configured telephony or digital platform "
                        f"(configured: {', '.join(sorted(every_platform)) or 'none'})")
                elif platform == a.platform and device != a.extension:
                    problems.append(
                        f"{where}: agent {a.id!r} is already {a.extension} on {platform} "
                        f"(extension), not {device}")
                devices[platform] = device
            for platform, device in devices.items():
                other = seen_ext.get((platform, device))
                if other is not None:
                    problems.append(f"extension {device} on {platform} is given to two agents "
                                    f"({other} and {a.id})")
                seen_ext[(platform, device)] = a.id
        seen_stations: set[tuple[str, str]] = set()
        for i, st in enumerate(self.stations):
            if st.platform not in platforms:
                problems.append(f"stations.{i}: station {st.extension} is on platform "
                                f"{st.platform!r}, which is not a configured telephony platform")
            if (st.platform, st.extension) in seen_stations:
                problems.append(f"stations.{i}: station {st.extension} on {st.platform} "
                                f"is listed twice")
            seen_stations.add((st.platform, st.extension))
        for i, site in enumerate(self.sites):
            if site.platform not in platforms:
                problems.append(f"sites.{i}: site {site.name!r} is on platform "
                                f"{site.platform!r}, which is not a configured telephony "
                                f"platform")
        if self.traffic and self.traffic.platform not in platforms:
            problems.append(f"traffic.platform {self.traffic.platform!r} is not configured")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def reason_label(self, code: str) -> Coded | None:
        return next((r for r in self.reason_codes if r.code == code), None)

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> Settings:
        """Read ``path`` (YAML) and the environment; raise ConfigError listing every problem."""
        data = read_config_file(path) if path is not None else {}
        data.update(overrides)
        try:
            return cls(**data)
        except ValidationError as exc:
            raise ConfigError(
                f"{path or 'configuration'} has {exc.error_count()} error(s):\n"
                + format_errors(exc),
                code="config-invalid",
                errors=[_error_dict(e) for e in exc.errors()],
            ) from None

    @classmethod
    def demo_settings(cls, **overrides: Any) -> Settings:
        """The embedded demo: simulator, three agents, a few calls a minute."""
        base: dict[str, Any] = {
            "demo": True,
            "database": {"url": "sqlite:///ctibridge-demo.db"},
            # routing "hub": the simulator parks queued calls and ctibridge's blended
            # router sends each to an agent, together with chats, emails and SMS.
            "telephony": [{"name": "sim", "type": "simulator", "options": {
                "devices": ["1001", "1002", "1003", "1090"], "queues": ["support", "sales"],
                "routing": "hub"}}],
            "supervisor_devices": {"sam": {"sim": "1090"}},  # sam's phone: listen, whisper, barge
            "agents": [
                {"id": "alice", "name": "Alice Martin", "extension": "1001", "platform": "sim"},
                {"id": "bob", "name": "Bob Durand", "extension": "1002", "platform": "sim"},
                {"id": "carol", "name": "Carol Lefèvre", "extension": "1003", "platform": "sim"},
            ],
            # Calls sized to the agents at work (docs/configuration.md, "traffic"): busy
            # about 60% of their time on the phone, the simulated digital work on top.
            "traffic": {"platform": "sim", "occupancy": DEMO_OCCUPANCY,
                        "handle_time_seconds": 60},
            # The demo's calls are a minute long: a minute to wrap up (Save ends it sooner).
            # The 120 s default with 60 s calls left agents idle in wrap-up two thirds of the
            # time, and 9.6% of the demo's callers hung up (tests/…/test_demo_soak.py).
            "wrap_up_seconds": 60,
            "democrm": {},  # the built-in demo CRM at /democrm, seeded from the simulator
            # ...which the hub pops and logs into through its mapping file, like any CRM.
            "crm": {"mapping": str(Path(__file__).parent / "crm" / "presets" / "democrm.yaml")},
            # Digital intake: a webhook platform (secret known to docs/digital.md's example;
            # a demo only) and simulated emails, chats and SMS.
            "digital": [
                {"name": "web", "type": "webhook", "secret": "demo-webhook-secret-change-me"},
                # With all three agents at work about one a minute (fewer with fewer
                # agents, like the calls); a chat or SMS nobody takes leaves in 3 to 8 min.
                {"name": "digisim", "type": "simulator", "options": {
                    "per_minute": DEMO_DIGITAL_PER_MINUTE, "patience": [180, 480]}},
            ],
            # One blended queue: calls and digital work wait together (docs/omnichannel.md).
            "queues": [{"name": "support", "channels": ["voice", "chat", "email", "sms"],
                        "sl_seconds": 30, "offer_timeout_seconds": 20,
                        # Colours on the supervisor page and the wallboard.
                        "thresholds": {"waiting": {"warn": 2, "alert": 4},
                                       "longest_wait_seconds": {"warn": 30, "alert": 60},
                                       "service_level": {"warn": 80, "alert": 60}}}],
        }
        traffic = overrides.get("traffic")
        if isinstance(traffic, dict) and "calls_per_minute" in traffic:
            overrides["traffic"] = {"occupancy": None, **traffic}  # a fixed rate wins
        for k, v in overrides.items():
            if isinstance(v, dict) and isinstance(base.get(k), dict):
                base[k] = {**base[k], **v}
            else:
                base[k] = v
        return cls.load(None, **base)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings a YAML config file gives (not yet checked); ConfigError if unreadable."""
    p = Path(path)
    try:
        raw = yamlsafe.load(p.read_text(encoding="utf-8"))  # bounded aliases
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist", code="config-missing") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise ConfigError(f"{p}{at}: not valid YAML ({exc})", code="config-invalid") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of settings",
                          code="config-invalid")
    return raw


def _error_dict(e: Any) -> dict[str, Any]:
    return {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}


def format_errors(exc: ValidationError) -> str:
    lines = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        got = e.get("input")
        # Never echo a secret back (a short or example secret_key, a password in a URL).
        secret = any(is_secret_name(str(p)) for p in e["loc"])
        shown = ("" if isinstance(got, dict | list) or got is None
                 else " (got a value that is not shown: it is a secret)" if secret
                 else f" (got {redact_text(repr(got))})")
        lines.append(f"  - {loc}: {e['msg']}{shown}")
    return "\n".join(lines)
