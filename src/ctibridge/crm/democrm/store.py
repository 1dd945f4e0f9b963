"""The demo CRM's data access: one async engine on its own database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Select, event, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from ...store.db import async_url
from ...telephony.simulator import Customer
from . import seed as seeding
from .schemas import ActivityIn, ContactIn
from .tables import Activity, Base, Company, Contact, Phone, compact, searchable

log = structlog.get_logger("ctibridge.democrm")

SEARCH_LIMIT = 50


class NotFound(LookupError):
    pass


class Invalid(ValueError):
    """Input that is well-formed but names something that does not exist."""


class DemoCrmStore:
    def __init__(self, url: str) -> None:
        self.url = async_url(url)
        self._engine: AsyncEngine | None = None
        self._reads: async_sessionmaker[AsyncSession] | None = None
        self._writes: async_sessionmaker[AsyncSession] | None = None
        self.seed_plan: seeding.SeedPlan | None = None  # what was seeded at this start, if any

    async def start(self, customers: Sequence[Customer]) -> None:
        """Create the tables, and seed them from ``customers`` when the database is new."""
        if self._engine is not None:
            return
        kwargs: dict[str, Any] = {}
        if self.url.get_backend_name() == "sqlite":
            db = self.url.database
            if not db or db == ":memory:":
                kwargs["poolclass"] = StaticPool
            elif not db.startswith("file:"):
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 15}
        engine = create_async_engine(self.url, **kwargs)
        if self.url.get_backend_name() == "sqlite":
            _sqlite_setup(engine)
        self._engine = engine
        self._reads = async_sessionmaker(engine, expire_on_commit=False)
        # Writers take SQLite's lock at BEGIN, so a read-then-write never fails as busy.
        self._writes = async_sessionmaker(
            engine.execution_options(sqlite_begin="BEGIN IMMEDIATE"), expire_on_commit=False)
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await self._seed_if_empty(customers)
        log.info("democrm.started", url=self.url.render_as_string(hide_password=True))

    async def stop(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        assert self._reads is not None, "DemoCrmStore.start() was not awaited"
        async with self._reads.begin() as session:
            yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        assert self._writes is not None, "DemoCrmStore.start() was not awaited"
        async with self._writes.begin() as session:
            yield session

    # ------------------------------------------------------------ contacts

    async def by_phone(self, number: str) -> list[Contact]:
        """Contacts with a phone typed as ``number``, separators aside (an indexed lookup)."""
        if not compact(number.strip()):
            return []
        async with self.reading() as s:
            rows = await s.scalars(phone_query(number))
            return list(rows.unique())

    async def by_customer_id(self, customer_id: str) -> list[Contact]:
        async with self.reading() as s:
            rows = await s.scalars(select(Contact).where(Contact.customer_id == customer_id)
                                   .order_by(Contact.id))
            return list(rows.unique())

    async def search(self, text: str, *, limit: int = SEARCH_LIMIT, offset: int = 0
                     ) -> list[Contact]:
        async with self.reading() as s:
            stmt = select(Contact).order_by(Contact.last_name, Contact.first_name, Contact.id)
            wanted = searchable(text.strip())
            if wanted:
                stmt = stmt.where(Contact.search.contains(wanted, autoescape=True))
            rows = await s.scalars(stmt.limit(limit).offset(offset))
            return list(rows.unique())

    async def count(self, text: str = "") -> int:
        async with self.reading() as s:
            stmt = select(func.count(Contact.id))
            wanted = searchable(text.strip())
            if wanted:
                stmt = stmt.where(Contact.search.contains(wanted, autoescape=True))
            return int(await s.scalar(stmt) or 0)

    async def contact(self, contact_id: int) -> Contact:
        async with self.reading() as s:
            found = await s.get(Contact, contact_id)
            if found is None:
                raise NotFound(f"there is no contact {contact_id}")
            return found

    async def companies(self) -> list[Company]:
        async with self.reading() as s:
            return list(await s.scalars(select(Company).order_by(Company.name)))

    async def create_contact(self, data: ContactIn) -> Contact:
        async with self.writing() as s:
            company = None
            if data.company_id is not None:
                company = await s.get(Company, data.company_id)
                if company is None:
                    raise Invalid(f"company_id {data.company_id} does not exist")
            contact = Contact(
                first_name=data.first_name, last_name=data.last_name, company=company,
                email=data.email, customer_id=data.customer_id, created_at=_now(),
                search=searchable(data.first_name, data.last_name,
                                  company.name if company else None),
                phones=[Phone(position=i, label=p.label, number=p.number, compact=compact(p.number))
                        for i, p in enumerate(data.phones)],
            )
            s.add(contact)
            await s.flush()
            contact_id = contact.id
        return await self.contact(contact_id)

    # ------------------------------------------------------------ activities

    async def activities_of(self, contact_id: int) -> list[Activity]:
        await self.contact(contact_id)  # 404 for an unknown contact, not an empty list
        async with self.reading() as s:
            rows = await s.scalars(select(Activity).where(Activity.contact_id == contact_id)
                                   .order_by(Activity.started_at.desc(), Activity.id.desc()))
            return list(rows)

    async def activities_since(self, since_id: int = 0) -> list[Activity]:
        async with self.reading() as s:
            rows = await s.scalars(select(Activity).where(Activity.id > since_id)
                                   .order_by(Activity.id))
            return list(rows)

    async def log_activity(self, key: str, data: ActivityIn) -> tuple[Activity, bool]:
        """Insert the activity under ``key``; ``(existing, False)`` when the key was used.

        The unique constraint decides, not a prior SELECT: of two requests racing
        with one key, exactly one inserts and the other reads the winner's row.
        """
        try:
            async with self.writing() as s:
                if data.contact_id is not None and await s.get(Contact, data.contact_id) is None:
                    raise Invalid(f"contact_id {data.contact_id} does not exist")
                row = Activity(idempotency_key=key, created_at=_now(), **data.model_dump())
                s.add(row)
            return row, True
        except IntegrityError:
            async with self.reading() as s:
                existing = await s.scalar(select(Activity).where(Activity.idempotency_key == key))
            if existing is None:
                raise
            return existing, False

    # ------------------------------------------------------------ seed

    async def _seed_if_empty(self, customers: Sequence[Customer]) -> None:
        async with self.writing() as s:
            if await s.scalar(select(func.count(Company.id))):
                return
            the_plan = seeding.plan(customers)
            companies = [Company(name=c.name, city=c.city, country=c.country, phone=c.phone)
                         for c in the_plan.companies]
            s.add_all(companies)
            n = 0
            for c in the_plan.contacts:
                company = companies[c.company] if c.company is not None else None
                contact = Contact(
                    first_name=c.first_name, last_name=c.last_name, customer_id=c.customer_id,
                    company=company, email=c.email, created_at=_now(),
                    search=searchable(c.first_name, c.last_name,
                                      company.name if company else None),
                    phones=[Phone(position=i, label=label, number=num, compact=compact(num))
                            for i, (label, num) in enumerate(c.phones)])
                s.add(contact)
                for a in c.activities:
                    n += 1
                    s.add(Activity(idempotency_key=f"seed-{n}", contact=contact,
                                   created_at=_now(), **a))
            self.seed_plan = the_plan
        log.info("democrm.seeded", companies=len(the_plan.companies),
                 contacts=len(the_plan.contacts), unknown_callers=len(the_plan.unknown))


def phone_query(number: str) -> Select[Contact]:
    """Contacts with ``number`` as typed, or equal to it once both are compacted.

    Both columns are indexed: SQLite answers the OR with two index searches.
    """
    ids = select(Phone.contact_id).where(
        or_(Phone.number == number, Phone.compact == compact(number.strip())))
    return select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id)


def _now() -> datetime:
    return datetime.now(UTC)


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))
