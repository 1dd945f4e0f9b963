"""A platform's ``options`` (``telephony[]``, ``digital[]``): what every parser shares.

Each connector checks its own options and raises one :class:`ConfigError` that
names every wrong field, in the same words: :func:`options_error` writes it, from
pydantic's errors (:func:`pydantic_problems`) or from a table of checks
(:func:`check_each`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .model.errors import ConfigError

Problems = list[tuple[str, str]]  # (field below options, what is wrong with it)
M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """An options model that refuses keys it does not know (a typo is an error)."""

    model_config = ConfigDict(extra="forbid")


def _shown(value: Any, containers: tuple[type, ...]) -> str:
    return "" if isinstance(value, containers) else f" (got {value!r})"


def pydantic_problems(exc: ValidationError, *, hidden: Collection[str] = (),
                      show_input: bool = True) -> Problems:
    """One problem per error; the input is quoted except for ``hidden`` fields (secrets)."""
    out: Problems = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(options)"
        got = e.get("input")
        shown = (_shown(got, (dict, list)) if show_input and got is not None
                 and loc not in hidden else "")
        out.append((loc, f"{e['msg']}{shown}"))
    return out


def check_each(options: Mapping[str, Any], checks: Mapping[str, Callable[[Any], Any]], *,
               bad: type[Exception] = ValueError,
               containers: tuple[type, ...] = (dict, list, tuple)) -> tuple[dict[str, Any],
                                                                           Problems]:
    """Every option through its check: (the checked values, the problems found)."""
    kwargs: dict[str, Any] = {}
    problems: Problems = []
    for key, value in options.items():
        check = checks.get(key)
        if check is None:
            problems.append((key, f"unknown option; known: {', '.join(checks)}"))
            continue
        try:
            kwargs[key] = check(value)
        except bad as exc:
            problems.append((key, f"{exc}{_shown(value, containers)}"))
    return kwargs, problems


def options_error(section: str, name: str, kind: str, problems: Problems, *,
                  fields: list[str] | None = None,
                  messages: list[str] | None = None) -> ConfigError:
    """``<section> 'name' (kind) has N error(s):`` then a line per problem.

    ``fields``/``messages``: what the structured ``errors`` list says, where it is
    not the problems' own (pydantic's message without the quoted input).
    """
    lines = "\n".join(f"  - {section} {name!r} options.{k}: {m}" for k, m in problems)
    fields = fields if fields is not None else [k for k, _ in problems]
    messages = messages if messages is not None else [m for _, m in problems]
    return ConfigError(
        f"{section} {name!r} ({kind}) has {len(problems)} error(s):\n{lines}",
        code="config-invalid",
        errors=[{"field": f"options.{f}", "message": m} for f, m in zip(fields, messages,
                                                                         strict=True)])


def parse_model(model: type[M], section: str, name: str, kind: str,
                options: Mapping[str, Any], *, hidden: Collection[str] = (),
                show_input: bool = True) -> M:
    """``options`` as ``model``; else the ConfigError listing each field that is wrong."""
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        errors = exc.errors()
        raise options_error(
            section, name, kind, pydantic_problems(exc, hidden=hidden, show_input=show_input),
            fields=[".".join(str(p) for p in e["loc"]) for e in errors],
            messages=[e["msg"] for e in errors]) from None
