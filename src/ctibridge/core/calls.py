"""Call registry: our ``call_id`` for each platform call, and the calls themselves.

Connectors speak their own references (``ref``); this registry is the one
place that maps ``(platform, ref)`` to a ``call_id``. The mapping survives
transfers (the customer's call keeps its id) and attended transfers merge the
consultation into the customer's call.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from datetime import datetime

from ..model.call import Call
from ..model.errors import NotFound
from ..model.party import Direction, Party


def new_call_id() -> str:
    return "c-" + uuid.uuid4().hex[:20]


class CallRegistry:
    def __init__(self, keep_ended: int = 200) -> None:
        self._calls: dict[str, Call] = {}
        self._by_ref: dict[tuple[str, str], str] = {}
        self._ref_of: dict[str, tuple[str, str]] = {}
        # Recently ended calls stay answerable for a while (late events, REST
        # reads, "this call has ended" errors instead of "unknown call").
        self._ended: OrderedDict[str, Call] = OrderedDict()
        self._keep_ended = keep_ended

    def __len__(self) -> int:
        return len(self._calls)

    def live(self) -> list[Call]:
        return list(self._calls.values())

    def get(self, call_id: str) -> Call | None:
        return self._calls.get(call_id) or self._ended.get(call_id)

    def require(self, call_id: str) -> Call:
        call = self._calls.get(call_id)
        if call is None:
            if call_id in self._ended:
                raise NotFound(f"call {call_id} has ended", code="no-such-call", call_id=call_id)
            raise NotFound(f"call {call_id} does not exist", code="no-such-call", call_id=call_id)
        return call

    def by_ref(self, platform: str, ref: str) -> Call | None:
        call_id = self._by_ref.get((platform, ref))
        return self.get(call_id) if call_id else None

    def ref_of(self, call_id: str) -> tuple[str, str]:
        try:
            return self._ref_of[call_id]
        except KeyError:
            raise NotFound(f"call {call_id} does not exist", code="no-such-call") from None

    def open(
        self,
        platform: str,
        ref: str,
        *,
        direction: Direction,
        customer: Party,
        at: datetime,
        queue: str | None = None,
        attached: dict[str, str] | None = None,
        consult_of: str | None = None,
        call_id: str | None = None,
    ) -> tuple[Call, bool]:
        """Return the live call for ``ref``, creating it if new (second item True),
        under ``call_id`` if given (a call a restarted hub finds again)."""
        existing = self.by_ref(platform, ref)
        if existing is not None and not existing.ended:
            return existing, False
        # A consultation is about the customer of the call it was made from: the
        # colleague consulted sees that customer and the data collected for them.
        parent = self._calls.get(consult_of) if consult_of else None
        call = Call(
            call_id=call_id or new_call_id(),
            direction=direction,
            customer=customer,
            created_at=at,
            platform=platform,
            queue=queue,
            attached={**(parent.attached if parent else {}), **(attached or {})},
            consult_of=consult_of,
            about=(parent.about or parent.customer) if parent else None,
        )
        self._calls[call.call_id] = call
        self._by_ref[(platform, ref)] = call.call_id
        self._ref_of[call.call_id] = (platform, ref)
        return call, True

    def close(self, call: Call) -> None:
        """Move an ended call out of the live set (kept a while for lookups)."""
        if self._calls.pop(call.call_id, None) is None:
            return
        self._ended[call.call_id] = call
        while len(self._ended) > self._keep_ended:
            old_id, _ = self._ended.popitem(last=False)
            key = self._ref_of.pop(old_id, None)
            if key and self._by_ref.get(key) == old_id:
                del self._by_ref[key]

    def refs_for_platform(self, platform: str) -> dict[str, Call]:
        return {
            ref: self._calls[cid]
            for (p, ref), cid in self._by_ref.items()
            if p == platform and cid in self._calls
        }
