"""Digital intake bookkeeping: which message ids were received, which conversations are open.

Idempotency rests on unique constraints, never on check-then-insert: the
message row's primary key is (platform, message id), and a partial unique
index allows one *open* conversation per (platform, conversation id). Two
copies of a message arriving together, or one arriving again after a
restart, therefore always resolve to the first copy's interaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..model.events import InteractionSnapshot, Sender
from ..model.party import Channel
from .db import Database
from .tables import DigitalConversationRow, DigitalInteractionRow, DigitalMessageRow

_Msg, _Conv, _Int = DigitalMessageRow, DigitalConversationRow, DigitalInteractionRow


class Outcome(StrEnum):
    CREATED = "created"  # a new interaction
    UPDATED = "updated"  # a follow-up joined the open interaction of its conversation
    CLOSED = "closed"  # the customer closed the conversation
    DUPLICATE = "duplicate"  # this message id was received before: nothing done


@dataclass(frozen=True, slots=True)
class Recorded:
    interaction_id: str
    outcome: Outcome


class NoOpenConversation(Exception):
    """A close names a conversation that is not open."""


class _Duplicate(Exception):
    def __init__(self, interaction_id: str) -> None:
        self.interaction_id = interaction_id


def _insert(session: AsyncSession, model: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(model)
    return sqlite_insert(model)


def _rows(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


class DigitalStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self, platform: str, message_id: str, *, conversation_id: str | None,
        new_interaction_id: str, at: datetime, opening: InteractionSnapshot | None = None,
    ) -> Recorded:
        """Record a message; the interaction it makes or joins, or the one it already made.

        A new interaction is kept open (as ``opening`` says it, its ref being the
        interaction's id) in the same transaction, so that a hub restarted at any
        moment finds it and queues it again.
        """
        for _ in range(3):  # a conversation closed between our insert and select: again
            try:
                async with self.db.session() as s:
                    iid, outcome = new_interaction_id, Outcome.CREATED
                    if conversation_id is not None:
                        joined = await self._open_conversation(
                            s, platform, conversation_id, new_interaction_id, at)
                        if joined is None:
                            continue
                        if joined != new_interaction_id:
                            iid, outcome = joined, Outcome.UPDATED
                    await self._claim(s, platform, message_id, iid, at)
                    if outcome is Outcome.CREATED and opening is not None:
                        s.add(_Int(
                            interaction_id=iid, platform=platform,
                            channel=str(opening.channel), queue=opening.queue,
                            sender=opening.sender.to_dict(), subject=opening.subject,
                            preview=opening.preview, content_url=opening.content_url,
                            attached=dict(opening.attached), opened_at=at,
                            closed_at=None))
                    return Recorded(iid, outcome)
            except _Duplicate as dup:  # the transaction was rolled back: nothing kept
                return Recorded(dup.interaction_id, Outcome.DUPLICATE)
        raise RuntimeError(f"conversation {conversation_id!r} keeps closing under us")

    async def record_close(
        self, platform: str, message_id: str, *, conversation_id: str, at: datetime,
    ) -> Recorded:
        """Record the customer's closing message and close the conversation."""
        try:
            async with self.db.session() as s:
                iid = (await s.execute(
                    select(_Conv.interaction_id).where(
                        _Conv.platform == platform, _Conv.conversation_id == conversation_id,
                        _Conv.closed_at.is_(None)))).scalar_one_or_none()
                if iid is None:
                    # In this transaction: a second session would wait on our own lock.
                    known = await _interaction_of(s, platform, message_id)
                    if known is not None:
                        return Recorded(known, Outcome.DUPLICATE)
                    raise NoOpenConversation(conversation_id)
                await self._claim(s, platform, message_id, iid, at)
                closed = await s.execute(
                    update(_Conv).where(_Conv.platform == platform,
                                        _Conv.conversation_id == conversation_id,
                                        _Conv.closed_at.is_(None))
                    .values(closed_at=at))
                if _rows(closed) == 0:  # closed meanwhile (by the agent): nothing more to do
                    return Recorded(iid, Outcome.DUPLICATE)
                await _close(s, platform, iid, at)
                return Recorded(iid, Outcome.CLOSED)
        except _Duplicate as dup:
            return Recorded(dup.interaction_id, Outcome.DUPLICATE)

    async def close_interaction(self, platform: str, interaction_id: str, at: datetime) -> bool:
        """The hub closed it: the conversation's next message starts a new interaction."""
        async with self.db.session() as s:
            result = await s.execute(
                update(_Conv).where(_Conv.platform == platform,
                                    _Conv.interaction_id == interaction_id,
                                    _Conv.closed_at.is_(None))
                .values(closed_at=at))
            await _close(s, platform, interaction_id, at)
            return _rows(result) > 0

    async def open_interactions(self, platform: str) -> list[InteractionSnapshot]:
        """The platform's interactions not closed yet, oldest first (to queue again)."""
        q = (select(_Int).where(_Int.platform == platform, _Int.closed_at.is_(None))
             .order_by(_Int.opened_at, _Int.interaction_id))
        async with self.db.session() as s:
            rows = (await s.execute(q)).scalars().all()
        out = []
        for r in rows:
            try:
                channel = Channel(r.channel)
            except ValueError:  # a channel this version no longer knows: leave it
                continue
            sender = Sender(**{k: v for k, v in (r.sender or {}).items()
                               if k in ("address", "number", "handle", "name")})
            out.append(InteractionSnapshot(
                r.interaction_id, channel, sender, queue=r.queue, subject=r.subject,
                preview=r.preview, content_url=r.content_url, opened_at=r.opened_at,
                attached=dict(r.attached or {})))
        return out

    async def interaction_of(self, platform: str, message_id: str) -> str | None:
        async with self.db.session() as s:
            return await _interaction_of(s, platform, message_id)

    async def count_messages(self, platform: str) -> int:
        async with self.db.session() as s:
            return int((await s.execute(
                select(func.count()).select_from(_Msg).where(_Msg.platform == platform)
            )).scalar_one())

    # ------------------------------------------------------------ internals

    async def _open_conversation(
        self, s: AsyncSession, platform: str, conversation_id: str, new_id: str, at: datetime,
    ) -> str | None:
        """Open the conversation with ``new_id``, or return the one already open."""
        stmt = _insert(s, _Conv).values(
            platform=platform, conversation_id=conversation_id, interaction_id=new_id,
            opened_at=at, closed_at=None,
        ).on_conflict_do_nothing(
            index_elements=["platform", "conversation_id"],
            index_where=_Conv.closed_at.is_(None),
        )
        if _rows(await s.execute(stmt)) == 1:
            return new_id
        result: str | None = (await s.execute(
            select(_Conv.interaction_id).where(
                _Conv.platform == platform, _Conv.conversation_id == conversation_id,
                _Conv.closed_at.is_(None)))).scalar_one_or_none()
        return result

    async def _claim(
        self, s: AsyncSession, platform: str, message_id: str, iid: str, at: datetime,
    ) -> None:
        stmt = _insert(s, _Msg).values(
            platform=platform, message_id=message_id, interaction_id=iid, received_at=at,
        ).on_conflict_do_nothing(index_elements=["platform", "message_id"])
        if _rows(await s.execute(stmt)) == 1:
            return
        existing = (await s.execute(
            select(_Msg.interaction_id).where(_Msg.platform == platform,
                                              _Msg.message_id == message_id))).scalar_one()
        raise _Duplicate(existing)


async def _close(s: AsyncSession, platform: str, interaction_id: str, at: datetime) -> None:
    await s.execute(update(_Int).where(_Int.platform == platform,
                                       _Int.interaction_id == interaction_id,
                                       _Int.closed_at.is_(None)).values(closed_at=at))


async def _interaction_of(s: AsyncSession, platform: str, message_id: str) -> str | None:
    return (await s.execute(
        select(_Msg.interaction_id).where(_Msg.platform == platform,
                                          _Msg.message_id == message_id)
    )).scalar_one_or_none()
