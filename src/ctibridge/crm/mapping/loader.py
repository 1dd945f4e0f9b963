"""Read a mapping file and refuse it, with file:line and field, when it is wrong.

YAML is composed into nodes first so that every key keeps its line; pydantic's
error locations are then mapped back onto those lines.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ... import yamlsafe
from ...model.errors import CtiError
from .schema import Loc, MappingFile, cross_check


class MappingFileError(CtiError):
    """A mapping file that cannot be used; ``problems`` holds one line per fault."""

    code = "bad-mapping-file"
    status = 400

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        super().__init__(f"the CRM mapping file {path} is invalid:\n"
                         + "\n".join(f"  {p}" for p in problems), problems=problems)
        self.problems = problems


def read_mapping(path: Path | str, variables: Mapping[str, str] | None = None,
                 environ: Mapping[str, str] | None = None) -> MappingFile:
    """The validated mapping in ``path``, or MappingFileError listing every fault."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingFileError(path, [f"{path}: cannot read it ({exc.strerror})"]) from None
    except UnicodeDecodeError as exc:
        raise MappingFileError(path, [f"{path}: not UTF-8 text ({exc.reason})"]) from None
    data, lines, problems = _compose(source, str(path))
    if problems:
        raise MappingFileError(path, problems)
    if not isinstance(data, dict):
        raise MappingFileError(path, [f"{path}:1: expected a mapping (key: value lines) at "
                                      "the top of the file"])
    context = {"env": dict(os.environ if environ is None else environ),
               "vars": dict(variables or {})}
    try:
        mapping = MappingFile.model_validate(data, context=context)
    except ValidationError as exc:
        raise MappingFileError(path, [_describe(path, lines, e) for e in exc.errors()]) from None
    faults = cross_check(mapping)
    if faults:
        raise MappingFileError(path, [f"{path}:{_line(lines, loc)}: {_dotted(loc)}: {msg}"
                                      for loc, msg in faults])
    return mapping


# -- YAML with lines --------------------------------------------------------------------

def _compose(source: str, name: str) -> tuple[Any, dict[Loc, int], list[str]]:
    try:
        root = yamlsafe.compose(source)  # SafeLoader, aliases bounded (alias bombs)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, {}, [f"{name}:{line}: not valid YAML: {exc.problem or exc.context}"]
    if root is None:
        return None, {}, [f"{name}:1: the file is empty"]
    lines: dict[Loc, int] = {}
    problems: list[str] = []
    _walk(root, (), lines, problems, name)
    if problems:
        return None, lines, problems
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        return None, lines, [f"{name}:{line}: not valid YAML: {exc.problem}"]
    finally:
        loader.dispose()
    return data, lines, []


def _walk(node: yaml.Node, at: Loc, lines: dict[Loc, int], problems: list[str],
          name: str) -> None:
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            k = str(key.value)
            if k in seen:
                problems.append(f"{name}:{key.start_mark.line + 1}: {_dotted(at + (k,))}: "
                                f"the key {k!r} is given twice")
            seen.add(k)
            lines[at + (k,)] = key.start_mark.line + 1
            _walk(value, at + (k,), lines, problems, name)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, at + (i,), lines, problems, name)


# -- errors -----------------------------------------------------------------------------

def _line(lines: dict[Loc, int], loc: Loc) -> int:
    """The line of the deepest part of ``loc`` present in the file."""
    best: Loc = ()
    for part in loc:
        if best + (part,) in lines:
            best = best + (part,)
        # else: a pydantic-only step (union tag, validator name): skip it
    return lines.get(best, 1)


def _real_loc(lines: dict[Loc, int], loc: tuple[Any, ...]) -> Loc:
    out: Loc = ()
    for part in loc:
        if out + (part,) in lines:
            out = out + (part,)
        elif isinstance(part, str) and (part.startswith("function-") or part in _TAGS):
            continue
        else:
            out = out + (part,)
    return out


_TAGS = {"none", "basic", "bearer", "api_key", "oauth2_client_credentials",
         "oauth2_refresh_token", "str", "int", "list[...]"}


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _describe(path: Path, lines: dict[Loc, int], e: Any) -> str:
    loc = _real_loc(lines, tuple(e["loc"]))
    kind = e["type"]
    if kind == "union_tag_invalid":
        loc = loc + (e["ctx"]["discriminator"].strip("'"),)
    line = _line(lines, loc)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(tuple(e["loc"])[:-1])
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        msg = f"unknown key {loc[-1]!r}{hint}"
    elif kind == "missing":
        msg = "required, but missing"
    elif kind == "union_tag_invalid":
        msg = f"unknown {e['ctx']['tag']!r}; expected one of: {e['ctx']['expected_tags']}"
    elif kind == "value_error":
        msg = str(e["ctx"]["error"])
    else:
        given = e.get("input")
        shown = f" (got {given!r})" if isinstance(given, str | int | float | bool) else ""
        msg = f"{e['msg']}{shown}"
    return f"{path}:{line}: {_dotted(loc)}: {msg}"


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys a model accepts at ``loc`` (for 'unknown key' messages), best effort."""
    model: Any = MappingFile
    for part in loc:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        model = _step(model, part)
        if model is None:
            return []
    for c in _unwrap(model):
        if isinstance(c, type) and issubclass(c, BaseModel):
            return [f.alias or n for n, f in c.model_fields.items()]
    return []


def _unwrap(t: Any) -> list[Any]:
    origin = typing.get_origin(t)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(t)[0])
    if origin in (typing.Union, types.UnionType):
        return [x for a in typing.get_args(t) for x in _unwrap(a)]
    return [t]


def _step(model: Any, part: str | int) -> Any:
    candidates = _unwrap(model)
    for c in candidates:  # a discriminated union's step is the member's tag
        if isinstance(c, type) and issubclass(c, BaseModel) and "type" in c.model_fields:
            if typing.get_args(c.model_fields["type"].annotation) == (part,):
                return c
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel) and isinstance(part, str):
            for n, f in c.model_fields.items():
                if part in (n, f.alias):
                    return f.annotation
        origin = typing.get_origin(c)
        if origin in (list, dict) and (isinstance(part, int) or origin is dict):
            return typing.get_args(c)[-1]
    return None
