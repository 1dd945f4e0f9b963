"""Login sessions (table ``auth_sessions``): created at login, checked on every use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update

from .db import Database
from .tables import AuthSessionRow, UserRow
from .users import UserRecord, record_of


@dataclass(frozen=True, slots=True)
class SessionRecord:
    session_id: str
    username: str
    refresh_hash: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


def _record(row: AuthSessionRow) -> SessionRecord:
    return SessionRecord(row.id, row.username, row.refresh_hash, row.created_at,
                         row.expires_at, row.revoked_at, row.revoked_reason)


class SessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, session_id: str, username: str, refresh_hash: str, *,
                     now: datetime, expires_at: datetime, address: str | None) -> None:
        async with self._db.session() as s:
            s.add(AuthSessionRow(id=session_id, username=username, refresh_hash=refresh_hash,
                                 created_at=now, expires_at=expires_at, last_used_at=now,
                                 address=(address or "")[:64] or None))

    async def get(self, session_id: str) -> tuple[SessionRecord, UserRecord | None] | None:
        """The session and its user as they are now (None: no such user any more)."""
        async with self._db.session() as s:
            row = (await s.execute(
                select(AuthSessionRow, UserRow)
                .outerjoin(UserRow, UserRow.username == AuthSessionRow.username)
                .where(AuthSessionRow.id == session_id))).first()
        if row is None:
            return None
        session, user = row
        return _record(session), (record_of(user) if user is not None else None)

    async def addresses_since(self, since: datetime, limit: int) -> list[tuple[str, datetime]]:
        """(address, latest login from it) for logins since ``since``, newest first."""
        async with self._db.session() as s:
            rows = (await s.execute(
                select(AuthSessionRow.address, func.max(AuthSessionRow.created_at))
                .where(AuthSessionRow.created_at >= since, AuthSessionRow.address.is_not(None))
                .group_by(AuthSessionRow.address)
                .order_by(func.max(AuthSessionRow.created_at).desc())
                .limit(limit))).all()
        return [(str(address), at) for address, at in rows]

    async def touch(self, session_id: str, now: datetime) -> None:
        async with self._db.session() as s:
            await s.execute(update(AuthSessionRow).where(AuthSessionRow.id == session_id)
                            .values(last_used_at=now))

    async def revoke(self, session_id: str, *, now: datetime, reason: str) -> bool:
        """Revoke one session; False if it was unknown or already revoked."""
        async with self._db.session() as s:
            result = cast(CursorResult[Any], await s.execute(
                update(AuthSessionRow)
                .where(AuthSessionRow.id == session_id, AuthSessionRow.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason[:64])))
            return bool(result.rowcount)

    async def revoke_user(self, username: str, *, now: datetime, reason: str) -> list[str]:
        """Revoke every live session of ``username``; their ids."""
        async with self._db.session(write=True) as s:
            ids = list((await s.execute(
                select(AuthSessionRow.id).where(AuthSessionRow.username == username,
                                                AuthSessionRow.revoked_at.is_(None)))).scalars())
            if ids:
                await s.execute(update(AuthSessionRow).where(AuthSessionRow.id.in_(ids))
                                .values(revoked_at=now, revoked_reason=reason[:64]))
        return ids

    async def purge(self, before: datetime) -> int:
        """Forget sessions that ended before ``before``."""
        async with self._db.session() as s:
            result = cast(CursorResult[Any], await s.execute(
                delete(AuthSessionRow).where(AuthSessionRow.expires_at < before)))
            return int(result.rowcount or 0)
