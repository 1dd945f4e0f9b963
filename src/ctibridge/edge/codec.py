"""PlatformEvents as JSON, field for field, for the trip from an edge to the cloud.

Driven by the dataclasses' own type hints, so a field added to an event in
model/events.py travels without a change here (the round-trip tests cover every
event class). A payload that does not fit its class raises :class:`BadEvent`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from ..model import events

JSON = dict[str, Any]


class BadEvent(ValueError):
    """A payload that is not a PlatformEvent this version knows."""


def _classes() -> dict[str, type[events.PlatformEvent]]:
    # From the module's names, not __subclasses__(): a slots dataclass is a new class,
    # and the one it replaced still lingers among the subclasses.
    return {cls.name: cls for cls in vars(events).values()
            if isinstance(cls, type) and issubclass(cls, events.PlatformEvent)
            and "name" in cls.__dict__ and cls is not events.PlatformEvent}


EVENT_CLASSES = _classes()


def encode(event: events.PlatformEvent) -> bytes:
    body = {"event": event.name, **_fields(event)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def decode(data: bytes) -> events.PlatformEvent:
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadEvent(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadEvent("not a JSON object")
    cls = EVENT_CLASSES.get(str(body.get("event")))
    if cls is None:
        raise BadEvent(f"unknown event {body.get('event')!r}")
    try:
        return typing.cast(events.PlatformEvent, _build(cls, body))
    except (TypeError, ValueError, KeyError) as exc:
        raise BadEvent(f"{cls.name}: {exc}") from None


def _fields(obj: Any) -> JSON:
    return {f.name: _out(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _out(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, tuple | list):
        return [_out(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _out(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, body: Any) -> Any:
    if not isinstance(body, dict):
        raise TypeError(f"{cls.__name__} must be an object, not {type(body).__name__}")
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in body:
            kwargs[f.name] = _in(hints[f.name], body[f.name], f.name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KeyError(f"{f.name} is missing")
    return cls(**kwargs)


def _in(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _in(inner, value, where)
    if origin is tuple:
        args = typing.get_args(tp)
        _need(value, list, where)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_in(args[0], v, where) for v in value)
        if len(args) != len(value):
            raise ValueError(f"{where} must have {len(args)} items")
        return tuple(_in(a, v, where) for a, v in zip(args, value, strict=True))
    if origin is dict:
        key, val = typing.get_args(tp)
        _need(value, dict, where)
        return {_in(key, k, where): _in(val, v, where) for k, v in value.items()}
    if tp is datetime:
        _need(value, str, where)
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise ValueError(f"{where} has no time zone")
        return at
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value)
    if tp is typing.Any:
        return value
    if tp is float:
        _need(value, int | float, where)
        return float(value)
    if tp in (str, int, bool):
        _need(value, tp, where)
        return value
    raise TypeError(f"{where}: no JSON form for {tp!r}")


def _need(value: Any, kind: Any, where: str) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{where} must be {getattr(kind, '__name__', kind)}, "
                        f"not {type(value).__name__}")
