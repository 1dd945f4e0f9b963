"""The simulator's settings: constructor arguments and ``options`` from the config file.

Every problem names the key, so ``ctibridge config check`` can point at it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import phonenumbers

from ...model.errors import ConfigError
from ...options import check_each, options_error
from ..base import Capability


def check_arguments(queues: Sequence[str], devices: Sequence[str], ring_timeout: float,
                     answer_delay: tuple[float, float], region: str) -> None:
    problems = [p for p in (
        _names_problem("queues", queues), _names_problem("devices", devices),
        None if ring_timeout > 0 else f"ring_timeout must be positive, not {ring_timeout}",
        _delay_problem(answer_delay), _region_problem(region)) if p]
    if problems:
        raise ConfigError("simulator: " + "; ".join(problems), code="config-invalid")


def _names_problem(key: str, names: Sequence[str]) -> str | None:
    if isinstance(names, str) or not names:
        return f"{key} must be a non-empty list of names"
    if len(set(names)) != len(names):
        return f"{key} has duplicates"
    return None


def _delay_problem(delay: Sequence[float]) -> str | None:
    if len(delay) != 2 or not 0 <= delay[0] <= delay[1]:
        return f"answer_delay must be [min, max] seconds with 0 <= min <= max, not {delay}"
    return None


def _region_problem(region: str) -> str | None:
    if str(region).upper() not in phonenumbers.SUPPORTED_REGIONS:
        return f"region must be an ISO country code such as FR, not {region!r}"
    return None


class _Bad(ValueError):
    pass


def _as_names(key: str, value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not value or not all(
            isinstance(v, str | int) and not isinstance(v, bool) and str(v) for v in value):
        raise _Bad("must be a non-empty list of names")
    names = [str(v) for v in value]
    if problem := _names_problem(key, names):
        raise _Bad(problem.removeprefix(key + " "))
    return names


def _as_number(value: Any, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad("must be a number of seconds")
    if value < 0 or (positive and value == 0):
        raise _Bad("must be positive" if positive else "must not be negative")
    return float(value)


def _as_delay(value: Any) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise _Bad("must be [min, max] seconds")
    lo, hi = (_as_number(v, positive=False) for v in value)
    if lo > hi:
        raise _Bad("min must not exceed max")
    return lo, hi


def _as_seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad("must be an integer")
    return value


def _as_capabilities(value: Any) -> frozenset[Capability]:
    known = {c.value for c in Capability}
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"must be a list among {', '.join(sorted(known))}")
    unknown = [v for v in value if v not in known]
    if unknown:
        raise _Bad(f"unknown {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return frozenset(Capability(v) for v in value)


def _as_routing(value: Any) -> str:
    if value not in ("platform", "hub"):
        raise _Bad("must be platform (the simulator's ACD routes) or hub (ctibridge routes)")
    return str(value)


def _as_region(value: Any) -> str:
    if not isinstance(value, str) or _region_problem(value):
        raise _Bad("must be an ISO country code such as FR")
    return value.upper()


_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "seed": _as_seed,
    "queues": lambda v: _as_names("queues", v),
    "devices": lambda v: _as_names("devices", v),
    "ring_timeout": lambda v: _as_number(v, positive=True),
    "answer_delay": _as_delay,
    "capabilities": _as_capabilities,
    "region": _as_region,
    "routing": _as_routing,
}


def parse_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check every option; one ConfigError naming each bad key."""
    kwargs, problems = check_each(options, _OPTIONS, bad=_Bad)
    if problems:
        raise options_error("telephony", name, "simulator", problems)
    return kwargs
