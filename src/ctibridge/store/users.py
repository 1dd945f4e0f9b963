"""Users: who may log in, with which roles, as which agent.

Passwords are hashed with argon2id. Hashing and verifying take tens of
milliseconds of CPU on purpose, so they run in a worker thread, never on the
event loop.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError

from ..model.agent import Role
from ..model.errors import BadRequest, NotFound
from .db import Database
from .tables import UserRow

MAX_USERNAME = 150


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as the rest of the hub sees them. The password hash never leaves the store."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    agent_id: str | None
    disabled: bool


def record_of(row: UserRow) -> UserRecord:
    return UserRecord(
        username=row.username,
        display_name=row.display_name,
        roles=tuple(r for r in row.roles.split(",") if r),
        agent_id=row.agent_id,
        disabled=row.disabled,
    )


def _roles(roles: Iterable[str]) -> str:
    out: list[str] = []
    for r in roles:
        try:
            role = Role(r)
        except ValueError:
            known = ", ".join(x.value for x in Role)
            raise BadRequest(f"unknown role {r!r}; use one of {known}", code="bad-role") from None
        if role.value not in out:
            out.append(role.value)
    if not out:
        raise BadRequest("a user needs at least one role", code="bad-role")
    return ",".join(out)


def _check_username(username: str) -> None:
    if not username or username != username.strip() or len(username) > MAX_USERNAME:
        raise BadRequest(
            f"the username {username!r} is not valid: 1 to {MAX_USERNAME} characters, "
            "no leading or trailing spaces",
            code="bad-username",
        )


def _check_password(password: str) -> None:
    if not password:
        raise BadRequest("the password must not be empty", code="bad-password")


def default_hasher() -> PasswordHasher:
    """argon2id as the OWASP Password Storage Cheat Sheet lists it: 46 MiB, one pass, one
    lane. argon2-cffi's default runs 4 threads per hash (64 MiB, 3 passes): under a guessing
    flood two hashes took 8 threads and starved the event loop (bench/abuse.py). Hashes
    made with other parameters are rehashed at the next good login."""
    return PasswordHasher(time_cost=1, memory_cost=47104, parallelism=1)


class UserStore:
    def __init__(self, db: Database, hasher: PasswordHasher | None = None) -> None:
        self._db = db
        # Tests may pass cheaper parameters; production uses default_hasher().
        self._hasher = hasher or default_hasher()
        self._dummy_hash: str | None = None
        # Where hashing runs: a worker thread; the hub gives its own bounded pool
        # (api/loginguard.py) so password guessing cannot take every thread.
        self.run_hash: Callable[..., Awaitable[Any]] = asyncio.to_thread

    async def create(
        self,
        username: str,
        password: str,
        roles: Iterable[str],
        display_name: str | None = None,
        agent_id: str | None = None,
    ) -> UserRecord:
        """Create a user; ``BadRequest`` with code ``user-exists`` if the name is taken."""
        _check_username(username)
        _check_password(password)
        role_text = _roles(roles)
        if await self.get(username) is not None:
            raise self._exists(username)  # before paying for a hash
        row = UserRow(
            username=username,
            display_name=display_name or username,
            password_hash=await self.run_hash(self._hasher.hash, password),
            roles=role_text,
            agent_id=agent_id,
            disabled=False,
        )
        try:
            async with self._db.session() as s:
                s.add(row)
        except IntegrityError:  # created concurrently since our check
            raise self._exists(username) from None
        return record_of(row)

    async def ensure(
        self,
        username: str,
        password: str,
        roles: Iterable[str],
        display_name: str | None = None,
        agent_id: str | None = None,
    ) -> UserRecord:
        """Create the user unless one by that name exists (left untouched)."""
        existing = await self.get(username)
        if existing is not None:
            return existing
        try:
            return await self.create(username, password, roles, display_name, agent_id)
        except BadRequest as exc:
            if exc.code != "user-exists":
                raise
        existing = await self.get(username)
        assert existing is not None
        return existing

    async def authenticate(self, username: str, password: str) -> UserRecord | None:
        """The user if the password is right and the account enabled, else None.

        Takes about as long whether the user exists or not, so timing does not
        tell an attacker which usernames are real.
        """
        async with self._db.session() as s:
            row = (await s.execute(select(UserRow).where(UserRow.username == username))).scalar()
        if row is None:
            await self.run_hash(self._verify, await self._dummy(), password)
            return None
        if not await self.run_hash(self._verify, row.password_hash, password):
            return None
        if row.disabled:
            return None
        if self._hasher.check_needs_rehash(row.password_hash):
            await self._rehash(row, password)
        return record_of(row)

    async def get(self, username: str) -> UserRecord | None:
        async with self._db.session() as s:
            row = (await s.execute(select(UserRow).where(UserRow.username == username))).scalar()
        return record_of(row) if row is not None else None

    async def list(self) -> list[UserRecord]:
        async with self._db.session() as s:
            rows = (await s.execute(select(UserRow).order_by(UserRow.username))).scalars()
            return [record_of(r) for r in rows]

    async def set_password(self, username: str, password: str) -> None:
        _check_password(password)
        new_hash = await self.run_hash(self._hasher.hash, password)
        await self._update(username, password_hash=new_hash)

    async def disable(self, username: str) -> None:
        """Refuse this user's future logins. Their sessions are revoked by the caller
        (api/sessions.py, ``SessionService.user_changed``)."""
        await self._update(username, disabled=True)

    async def change(self, username: str, *, roles: Iterable[str] | None = None,
                     agent_id: str | None = None, clear_agent: bool = False,
                     display_name: str | None = None,
                     disabled: bool | None = None) -> UserRecord:
        """Change what is given (``clear_agent``: unlink the agent); the user after it."""
        values: dict[str, object] = {}
        if roles is not None:
            values["roles"] = _roles(roles)
        if agent_id is not None or clear_agent:
            values["agent_id"] = None if clear_agent else agent_id
        if display_name is not None:
            values["display_name"] = display_name
        if disabled is not None:
            values["disabled"] = disabled
        if values:
            await self._update(username, **values)
        user = await self.get(username)
        if user is None:
            raise NotFound(f"there is no user {username!r}", code="no-such-user")
        return user

    async def delete(self, username: str) -> None:
        async with self._db.session() as s:
            result = cast(CursorResult[Any], await s.execute(
                delete(UserRow).where(UserRow.username == username)))
            if result.rowcount == 0:
                raise NotFound(f"there is no user {username!r}", code="no-such-user")

    # ------------------------------------------------------------ internals

    async def _update(self, username: str, **values: object) -> None:
        async with self._db.session() as s:
            result = cast(CursorResult[Any], await s.execute(
                update(UserRow).where(UserRow.username == username).values(**values)
            ))
            if result.rowcount == 0:
                raise NotFound(f"there is no user {username!r}", code="no-such-user")

    async def _rehash(self, row: UserRow, password: str) -> None:
        # The hashing parameters were raised since this hash was made.
        new_hash = await self.run_hash(self._hasher.hash, password)
        async with self._db.session() as s:
            # Only if unchanged meanwhile: never overwrite a password just set.
            await s.execute(
                update(UserRow)
                .where(UserRow.id == row.id, UserRow.password_hash == row.password_hash)
                .values(password_hash=new_hash)
            )

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.run_hash(
                self._hasher.hash, secrets.token_urlsafe(16)
            )
        return self._dummy_hash

    @staticmethod
    def _exists(username: str) -> BadRequest:
        return BadRequest(f"a user named {username!r} already exists", code="user-exists")
