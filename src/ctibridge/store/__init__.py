"""Persistence: SQLite by default, PostgreSQL by URL; migrations applied at start.

    db = Database("sqlite:///ctibridge.db")  # or postgresql://user:pw@host/db
    await db.start()                          # connects, migrates to the newest schema
    store = Store(db)
    user = await store.users.authenticate("alice", "secret")
    await store.write(interactions=[...], states=[...])  # one transaction
    await db.stop()
"""

from .agent_states import AgentStateRecord, AgentStateStore
from .agents import AgentRecord, AgentStore
from .db import Database, mask_url
from .facade import Store
from .interactions import InteractionStore
from .users import UserRecord, UserStore

__all__ = [
    "AgentRecord",
    "AgentStateRecord",
    "AgentStateStore",
    "AgentStore",
    "Database",
    "InteractionStore",
    "Store",
    "UserRecord",
    "UserStore",
    "mask_url",
]
