"""The tables, as SQLAlchemy 2 typed declarative models.

The schema itself is owned by the migrations (``migrations/versions``); a
test checks that these models and the migrated database agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    PostgreSQL has ``timestamptz``; SQLite has no time zones, so we store
    naive UTC there and put the zone back when reading. A naive datetime is
    refused: it would silently mean local time somewhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; ctibridge stores UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact); JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY, PostgreSQL wants room to grow.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("username", name="uq_users_username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(150))
    display_name: Mapped[str] = mapped_column(String)
    password_hash: Mapped[str] = mapped_column(String)
    roles: Mapped[str] = mapped_column(String)  # comma-separated Role values
    # The agent this user logs in as. No foreign key: users may be created
    # (``ctibridge user add``) before the hub has seeded its agents.
    agent_id: Mapped[str | None] = mapped_column(String)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentRow(Base):
    __tablename__ = "agents"

    agent_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    extension: Mapped[str] = mapped_column(String)
    platform: Mapped[str] = mapped_column(String)
    skills: Mapped[list[str]] = mapped_column(Json, default=list)


class InteractionRow(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        # "An agent's history, newest first" and "everyone's, newest first".
        Index("ix_interactions_agent_created", "agent_id", "created_at"),
        Index("ix_interactions_created", "created_at"),
        # The few not yet wrapped up: what a starting hub sweeps after a crash.
        Index("ix_interactions_unwrapped", "created_at",
              sqlite_where=text("wrapped_at IS NULL"), postgresql_where=text("wrapped_at IS NULL")),
    )

    # Text without length limits: these come from platforms and customers, and
    # a row refused for being long would stall the hub's write queue.
    interaction_id: Mapped[str] = mapped_column(String, primary_key=True)
    call_id: Mapped[str | None] = mapped_column(String, index=True)
    channel: Mapped[str] = mapped_column(String)
    direction: Mapped[str] = mapped_column(String)
    customer_number: Mapped[str | None] = mapped_column(String)
    customer_name: Mapped[str | None] = mapped_column(String)
    agent_id: Mapped[str | None] = mapped_column(String)
    queue: Mapped[str | None] = mapped_column(String)
    attached: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime]
    queued_at: Mapped[datetime | None]
    offered_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    wrapped_at: Mapped[datetime | None]
    disposition: Mapped[str | None] = mapped_column(String)
    notes: Mapped[str | None] = mapped_column(Text)
    end_cause: Mapped[str | None] = mapped_column(String)
    # The CRM record the interaction is logged against (Match.to_dict()).
    crm_record: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    # Where the call is on its platform (platform name, the platform's own reference):
    # a restarted hub matches a leftover interaction with the platform's resync by it.
    platform: Mapped[str | None] = mapped_column(String)
    platform_ref: Mapped[str | None] = mapped_column(String)
    # The unsaved wrap-up form (Interaction.draft): survives a hub restart.
    wrap_draft: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)


class AgentStateRow(Base):
    __tablename__ = "agent_state_changes"
    __table_args__ = (
        Index("ix_agent_state_changes_agent_at", "agent_id", "at"),
        # The open row of each agent (closed by the next state): found without a scan.
        Index("ix_agent_state_changes_open", "agent_id",
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    reason: Mapped[str | None] = mapped_column(String)
    deadline: Mapped[datetime | None]  # end of wrap-up, so the state can be rebuilt
    at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # Where the agent was logged in if not at their configured phone (a station login),
    # so that a new core (a takeover, a restart) puts them back there.
    station_platform: Mapped[str | None] = mapped_column(String)
    station_device: Mapped[str | None] = mapped_column(String)


class CallLogOutboxRow(Base):
    """One interaction to write into the CRM, written with the interaction's end."""

    __tablename__ = "call_log_outbox"
    __table_args__ = (Index("ix_call_log_outbox_status_next", "status", "next_attempt_at"),)

    interaction_id: Mapped[str] = mapped_column(String, primary_key=True)  # idempotency key
    crm: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    # A worker owns the row until lease_until; an expired lease (crash) frees it.
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String)
    last_error: Mapped[str | None] = mapped_column(Text)
    activity_id: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    # A write left and its outcome is unknown: check (or ask an operator) before re-sending.
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    last_status: Mapped[int | None] = mapped_column(Integer)  # the CRM's HTTP status
    log_record: Mapped[dict[str, Any] | None] = mapped_column(Json)  # fallback/created/picked
    fallback_step: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    choices: Mapped[list[Any] | None] = mapped_column(Json)  # what a waiting agent may pick
    agent_id: Mapped[str | None] = mapped_column(String)


class DigitalMessageRow(Base):
    """One inbound digital message, by the sender's id: a repeat is recognised, even
    after a restart, and answered with the interaction it already made."""

    __tablename__ = "digital_messages"

    platform: Mapped[str] = mapped_column(String, primary_key=True)
    message_id: Mapped[str] = mapped_column(String, primary_key=True)
    interaction_id: Mapped[str] = mapped_column(String, index=True)
    received_at: Mapped[datetime]


class DigitalConversationRow(Base):
    """A conversation (chat, email thread) and the interaction its messages join.

    At most one open row per (platform, conversation): a partial unique index,
    so concurrent first messages agree on one interaction.
    """

    __tablename__ = "digital_conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String)
    conversation_id: Mapped[str] = mapped_column(String)
    interaction_id: Mapped[str] = mapped_column(String, index=True)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


Index("uq_digital_conversations_open", DigitalConversationRow.platform,
      DigitalConversationRow.conversation_id, unique=True,
      sqlite_where=DigitalConversationRow.closed_at.is_(None),
      postgresql_where=DigitalConversationRow.closed_at.is_(None))


class DigitalInteractionRow(Base):
    """A digital interaction as it arrived, until closed: a restarted hub queues the
    open ones again (the webhook platform has no memory of its own to resync from)."""

    __tablename__ = "digital_interactions"

    interaction_id: Mapped[str] = mapped_column(String, primary_key=True)
    platform: Mapped[str] = mapped_column(String)
    channel: Mapped[str] = mapped_column(String)
    queue: Mapped[str | None] = mapped_column(String)
    sender: Mapped[dict[str, Any]] = mapped_column(Json)
    subject: Mapped[str | None] = mapped_column(String)
    preview: Mapped[str | None] = mapped_column(String)
    content_url: Mapped[str | None] = mapped_column(String)
    attached: Mapped[dict[str, Any]] = mapped_column(Json)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


Index("ix_digital_interactions_open", DigitalInteractionRow.platform,
      DigitalInteractionRow.closed_at)


class AuditRow(Base):
    """A command someone gave on another agent's behalf (a supervisor setting them
    not ready, logging them out): who, whom, what, why, when, and how it went."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_agent_at", "agent_id", "at"),
                      Index("ix_audit_log_at", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String)  # the username who gave the command
    agent_id: Mapped[str] = mapped_column(String)  # the agent it was about
    op: Mapped[str] = mapped_column(String)
    reason: Mapped[str | None] = mapped_column(String)
    outcome: Mapped[str] = mapped_column(String)  # "ok", or the refusal's error code
    detail: Mapped[str | None] = mapped_column(Text)  # the refusal's message


class AuthSessionRow(Base):
    """A login: what its tokens are checked against on every use (api/sessions.py).

    Logging out, disabling or deleting the user revokes it; the refresh token is
    kept only as a hash."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_username", "username"),
                      Index("ix_auth_sessions_expires_at", "expires_at"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(150))
    refresh_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the refresh secret
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime]
    address: Mapped[str | None] = mapped_column(String(64))  # the client's, at login
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(64))
