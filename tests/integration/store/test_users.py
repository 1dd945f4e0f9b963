"""Users: creation, login, and what never leaves the store."""

from __future__ import annotations

import dataclasses
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from ctibridge.model.errors import BadRequest, NotFound
from ctibridge.store import Database, Store, UserRecord, UserStore
from ctibridge.store.tables import UserRow
from ctibridge.store.users import default_hasher

from .conftest import FAST_HASHER


async def _hash_of(db: Database, username: str) -> str:
    async with db.session() as s:
        return (
            await s.execute(select(UserRow.password_hash).where(UserRow.username == username))
        ).scalar_one()


async def test_created_user_logs_in_with_the_right_password_only(store: Store) -> None:
    made = await store.users.create("alice", "s3cret-pw", ["agent"], display_name="Alice A.",
                                    agent_id="alice")
    assert made == UserRecord("alice", "Alice A.", ("agent",), "alice", False)
    assert await store.users.authenticate("alice", "s3cret-pw") == made
    assert await store.users.authenticate("alice", "wrong") is None
    assert await store.users.authenticate("alice", "") is None


async def test_unknown_user_fails_after_verifying_a_dummy_hash(db: Database) -> None:
    calls: list[str] = []

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            calls.append(str(hash))
            return super().verify(hash, password)

    users = UserStore(db, Spy(time_cost=1, memory_cost=1024, parallelism=1))
    assert await users.authenticate("nobody", "whatever") is None
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")  # same work as a real user


async def test_disabled_user_cannot_log_in(store: Store) -> None:
    await store.users.create("bob", "pw-bob-12", ["agent"])
    await store.users.disable("bob")
    assert await store.users.authenticate("bob", "pw-bob-12") is None
    user = await store.users.get("bob")
    assert user is not None and user.disabled


async def test_duplicate_username_is_refused_with_user_exists(store: Store) -> None:
    await store.users.create("carol", "pw-carol-1", ["agent"])
    with pytest.raises(BadRequest) as err:
        await store.users.create("carol", "other-pw", ["admin"])
    assert err.value.code == "user-exists"
    assert "carol" in err.value.message
    assert await store.users.authenticate("carol", "pw-carol-1") is not None


async def test_the_password_hash_is_never_exposed(store: Store) -> None:
    made = await store.users.create("dave", "pw-dave-1", ["supervisor", "admin"])
    records = [made, await store.users.get("dave"), *await store.users.list(),
               await store.users.authenticate("dave", "pw-dave-1")]
    for rec in records:
        assert rec is not None
        assert {f.name for f in dataclasses.fields(rec)} == {
            "username", "display_name", "roles", "agent_id", "disabled"}
        assert "argon2" not in repr(rec) and "pw-dave-1" not in repr(rec)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.roles = ("admin",)  # type: ignore[misc]


async def test_roles_are_checked_and_kept_in_order(store: Store) -> None:
    with pytest.raises(BadRequest) as err:
        await store.users.create("eve", "pw-eve-12", ["agent", "root"])
    assert err.value.code == "bad-role"
    with pytest.raises(BadRequest):
        await store.users.create("eve", "pw-eve-12", [])
    made = await store.users.create("eve", "pw-eve-12", ["supervisor", "agent", "supervisor"])
    assert made.roles == ("supervisor", "agent")
    assert await store.users.get("eve") == made


async def test_list_is_sorted_by_username(store: Store) -> None:
    for name in ("zoe", "adam", "mia"):
        await store.users.create(name, f"pw-{name}-1", ["agent"])
    assert [u.username for u in await store.users.list()] == ["adam", "mia", "zoe"]


async def test_set_password_replaces_the_old_one(store: Store) -> None:
    await store.users.create("fay", "old-pw-123", ["agent"])
    await store.users.set_password("fay", "new-pw-456")
    assert await store.users.authenticate("fay", "old-pw-123") is None
    assert await store.users.authenticate("fay", "new-pw-456") is not None


async def test_changing_an_unknown_user_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as err:
        await store.users.set_password("ghost", "pw-ghost-1")
    assert err.value.code == "no-such-user"
    with pytest.raises(NotFound):
        await store.users.disable("ghost")


async def test_ensure_creates_once_and_never_overwrites(store: Store) -> None:
    first = await store.users.ensure("sam", "sam", ["supervisor"], display_name="Sam")
    again = await store.users.ensure("sam", "changed", ["admin"], display_name="Other")
    assert again == first
    assert await store.users.authenticate("sam", "sam") is not None
    assert await store.users.authenticate("sam", "changed") is None


async def test_login_rehashes_when_the_parameters_were_raised(db: Database) -> None:
    await UserStore(db, FAST_HASHER).create("gus", "pw-gus-123", ["agent"])
    old = await _hash_of(db, "gus")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert await UserStore(db, stronger).authenticate("gus", "pw-gus-123") is not None
    new = await _hash_of(db, "gus")
    assert new != old and not stronger.check_needs_rehash(new)
    assert await UserStore(db, stronger).authenticate("gus", "pw-gus-123") is not None


async def test_default_hasher_is_argon2id_with_production_parameters(db: Database) -> None:
    await Store(db).users.create("hal", "pw-hal-123", ["admin"])
    stored = await _hash_of(db, "hal")
    assert stored.startswith("$argon2id$")
    # OWASP's argon2id setting, one lane (store/users.py default_hasher).
    assert stored.startswith("$argon2id$v=19$m=47104,t=1,p=1$")
    assert not default_hasher().check_needs_rehash(stored)
    assert PasswordHasher().check_needs_rehash(stored)  # argon2-cffi's default differs
