"""The templates of a mapping file: Jinja2's sandbox, strict about undefined names.

A string value that is exactly one ``{{ expression }}`` keeps the expression's
type (a number stays a number, ``none`` becomes JSON null), so a JSON body can
carry ids and durations; any other string renders to text.

Each place in the file may read only some names (a lookup has no interaction
yet, auth has no call at all): ``check`` refuses the others at load time, and
refuses a reference to an environment variable or a variable that is not set
unless it goes through ``default``.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from jinja2 import (
    StrictUndefined,
    Template,
    TemplateError,
    TemplateRuntimeError,
    Undefined,
    meta,
    nodes,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import phones


class _Omit:
    """``{{ omit }}`` (Ansible's convention): the key that gives it is left out of the
    JSON sent, for APIs that refuse a null where a field may only be absent (a
    Dynamics 365 ``…@odata.bind`` with no record to bind)."""

    def __repr__(self) -> str:
        return "omit"


OMIT = _Omit()

# Which names each place of the file may read.
_COMMON = frozenset({"vars", "env", "tables", "omit"})
SCOPES: dict[str, frozenset[str]] = {
    "static": frozenset({"vars", "env", "omit"}),
    "lookup": _COMMON | {"party", "attached", "context", "number", "format"},
    # A lookup's ``then`` steps: each runs once per record the step before found.
    "step": _COMMON | {"party", "attached", "context", "number", "format", "record"},
    "record": _COMMON | {"party", "attached", "context", "record"},
    "pop": _COMMON | {"party", "attached", "context"},
    "log": _COMMON | {"party", "attached", "interaction", "record", "idempotency_key"},
}

class Quoted(str):
    """Text already fit for a URL path: the path environment leaves it as it is."""


def _urlquote(value: Any) -> Quoted:
    return Quoted(quote(str(value), safe=""))


def _raw(value: Any) -> Quoted:
    # The operator's own value (vars, env), trusted to hold several segments. The
    # request is still refused if it leaves base_url (http.HttpClient.build).
    return Quoted("" if value is None else str(value))


def _path_segment(value: Any) -> Any:
    """``finalize`` of the path environment: every ``{{ … }}`` is one encoded segment,
    so a record id such as ``../../admin?x#`` cannot climb out of the path, add a
    query or cut the URL."""
    if isinstance(value, Quoted | Undefined):
        return value
    return quote("" if value is None else str(value), safe="")


_OPERATOR = frozenset({"vars", "env"})


def _raw_if_operator(node: nodes.Expr) -> nodes.Expr:
    """``{{ vars.prefix }}`` → ``{{ vars.prefix | raw }}``: values the operator wrote are
    trusted with slashes; anything a call, a caller or an agent can set is not."""
    if isinstance(node, nodes.TemplateData):
        return node
    names = {n.name for n in node.find_all(nodes.Name)}
    if names and names <= _OPERATOR:
        return nodes.Filter(node, "raw", [], [], None, None, lineno=node.lineno)
    return node


_SINGLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.S)


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, Undefined):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- typed values (SQL parameters: bound as datetimes, numbers, booleans, NULL) ----------
# Each passes None through and refuses what it cannot read with a template error (the
# lookup or log fails, naming it), never a silent 0 like Jinja's own ``int``.

def _typed(kind: str, convert: Any) -> Any:
    def apply(value: Any) -> Any:
        if value is None or isinstance(value, Undefined):
            return None
        try:
            return convert(value)
        except (TypeError, ValueError, OverflowError):
            raise TemplateRuntimeError(f"as_{kind}: {str(value)[:60]!r} is not {_WHAT[kind]}"
                                       ) from None

    return apply


_WHAT = {"datetime": "a date and time (ISO 8601, or seconds since 1970)",
         "int": "a whole number", "float": "a number", "bool": "true or false"}
_TRUE = {"true", "yes", "on", "1", "y", "t"}
_FALSE = {"false", "no", "off", "0", "n", "f", ""}


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    return int(str(value).strip())


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    result = float(str(value).strip()) if not isinstance(value, int | float) else float(value)
    if not math.isfinite(result):
        raise ValueError(value)
    return result


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(value)


def _to_datetime(value: Any) -> datetime:
    result = _as_datetime(value.strip() if isinstance(value, str) else value)
    if result is None:
        raise ValueError(value)
    return result


def _iso(value: Any) -> str | None:
    d = _as_datetime(value)
    return d.astimezone(UTC).isoformat().replace("+00:00", "Z") if d else None


def _epoch_ms(value: Any) -> int | None:
    d = _as_datetime(value)
    return int(d.timestamp() * 1000) if d else None


def _strftime(value: Any, fmt: str) -> str | None:
    d = _as_datetime(value)
    return d.astimezone(UTC).strftime(fmt) if d else None


def _seconds(value: Any) -> int:
    return 0 if value is None else int(round(float(value)))


def _minutes(value: Any) -> int:
    # Rounded up: a 20-second call is a 1-minute call, not a 0-minute one.
    return 0 if value is None else int(math.ceil(float(value) / 60))


def _ms(value: Any) -> int:
    return 0 if value is None else int(round(float(value) * 1000))


# SOSL's FIND {…} reserved characters (Salesforce SOQL and SOSL Reference, "FIND
# {SearchQuery}" / "Example Text Searches": & | ! ( ) { } [ ] ^ " ~ * ? : \\ ' + -).
_SOSL_RESERVED = frozenset('&|!(){}[]^"~*?:\\\'+-')


def _sosl(value: Any) -> str:
    return "".join("\\" + c if c in _SOSL_RESERVED else c for c in str(value))


def _soql(value: Any) -> str:
    """Text for a SOQL string literal ('…'): quote and backslash escaped."""
    return str(value).replace("\\", "\\\\").replace("'", "\\'")


def _odata(value: Any) -> str:
    """Text for an OData string literal ('…'): a quote is doubled (OData ABNF, SQUOTE-in-string)."""
    return str(value).replace("'", "''")


def _uuid5(value: Any) -> str:
    """A stable GUID for a text (an id the CRM lets the client choose, e.g. Dynamics
    365's activityid): the same key gives the same record."""
    return str(uuid.uuid5(_UUID_NAMESPACE, str(value)))


# Fixed forever: changing it would give every key a new GUID (and log calls twice).
_UUID_NAMESPACE = uuid.UUID("6c1f0f0e-3f5c-4b7e-9a53-637469627264")


def _truncate_text(value: Any, length: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= length else text[: max(length - 1, 0)] + "…"


class Templates:
    """The sandboxed environment of one mapping file (filters know its default region)."""

    def __init__(self, default_region: str | None = None) -> None:
        self.region = default_region
        self.strict = self._environment(StrictUndefined)
        # Request paths: each expression's value percent-encoded as one path segment.
        self.path = self._environment(StrictUndefined, finalize=_path_segment)
        self._paths: dict[str, Template] = {}
        # ``when`` conditions test for presence: a missing key is simply false there.
        self.lenient = self._environment(Undefined)
        # The mapping file's own texts only, so bounded.
        self._templates: dict[str, Any] = {}
        self._expressions: dict[str, Any] = {}

    def _environment(self, undefined: type[Undefined], finalize: Any = None
                     ) -> ImmutableSandboxedEnvironment:
        env = ImmutableSandboxedEnvironment(undefined=undefined, autoescape=False,
                                            keep_trailing_newline=False, finalize=finalize)
        region = self.region
        env.filters.update({
            "e164": lambda n: phones.formatted(str(n), "e164", region),
            "international": lambda n: phones.formatted(str(n), "international", region),
            "national": lambda n: phones.formatted(str(n), "national", region),
            "national_digits": lambda n: phones.formatted(str(n), "national_digits", region),
            "digits": lambda n: phones.digits(str(n)),
            "last": lambda n, count: phones.last_digits(str(n), int(count), region),
            "seconds": _seconds,
            "minutes": _minutes,
            "ms": _ms,
            "iso": _iso,
            "epoch_ms": _epoch_ms,
            "strftime": _strftime,
            "truncate_text": _truncate_text,
            "urlquote": _urlquote,
            "sosl": _sosl,
            "soql": _soql,
            "odata": _odata,
            "uuid5": _uuid5,
            "raw": _raw,
            "as_datetime": _typed("datetime", _to_datetime),
            "as_int": _typed("int", _to_int),
            "as_float": _typed("float", _to_float),
            "as_bool": _typed("bool", _to_bool),
        })
        env.globals["omit"] = OMIT
        return env

    # -- load time -------------------------------------------------------------------

    def check(self, source: str, scope: str, context: Mapping[str, Any] | None,
              *, expression: bool = False) -> None:
        """Raise ValueError naming what is wrong with a template or ``when`` expression."""
        text = "{{ " + source + " }}" if expression else source
        try:
            ast = self.strict.parse(text)
            self.strict.compile(ast)  # unknown filters and tests are found here
        except TemplateError as exc:
            line = getattr(exc, "lineno", None)  # syntax errors know their line
            where = f" (template line {line})" if line else ""
            raise ValueError(f"template error: {exc.message}{where}") from None
        allowed = SCOPES[scope]
        unknown = meta.find_undeclared_variables(ast) - allowed
        if unknown:
            raise ValueError(
                f"unknown name {', '.join(repr(u) for u in sorted(unknown))} in template; "
                f"here a template can read: {', '.join(sorted(allowed))}")
        if context is None:
            return
        for root, what in (("env", "environment variable"), ("vars", "variable")):
            given = context.get(root) or {}
            missing = [name for name in _required_refs(ast, root) if name not in given]
            if missing:
                hint = ("set it in the environment of the hub" if root == "env" else
                        "give it in crm.variables of the config (or --var NAME=VALUE)")
                raise ValueError(f"{what} {missing[0]!r} is not set; {hint}, "
                                 f"or write {{{{ {root}.{missing[0]} | default('…') }}}}")

    # -- run time --------------------------------------------------------------------

    def render(self, source: str, context: Mapping[str, Any]) -> str:
        # Compiled once per text: compiling costs ~100× rendering (a log has ~10 templates).
        compiled = self._templates.get(source)
        if compiled is None:
            compiled = self._templates[source] = self.strict.from_string(source)
        return compiled.render(context)

    def _expression(self, source: str) -> Any:
        compiled = self._expressions.get(source)
        if compiled is None:
            compiled = self._expressions[source] = self.strict.compile_expression(
                source, undefined_to_none=False)
        return compiled

    def render_path(self, source: str, context: Mapping[str, Any]) -> str:
        """A request path: what each ``{{ … }}`` gives is URL-encoded (``/``, ``?``, ``#``,
        ``%`` included) unless it went through ``urlquote`` or ``raw``, or reads only the
        operator's own values (``vars``, ``env``: a prefix such as ``api/v2`` keeps its
        slashes)."""
        template = self._paths.get(source)
        if template is None:
            ast = self.path.parse(source)
            for output in ast.find_all(nodes.Output):
                output.nodes = [_raw_if_operator(n) for n in output.nodes]
            template = self._paths[source] = self.path.from_string(ast)
        return template.render(context)

    def value(self, template: Any, context: Mapping[str, Any]) -> Any:
        """Render a template or a JSON structure of templates, keeping single expressions' types."""
        if isinstance(template, str):
            single = _SINGLE.match(template)
            if single:
                result = self._expression(single["expr"])(context)
                if isinstance(result, Undefined):
                    result._fail_with_undefined_error()
                return result
            return self.render(template, context)
        if isinstance(template, Mapping):
            rendered = ((str(k), self.value(v, context)) for k, v in template.items())
            return {k: v for k, v in rendered if v is not OMIT}
        if isinstance(template, list):
            return [v for v in (self.value(x, context) for x in template) if v is not OMIT]
        return template

    def when(self, expression: str, context: Mapping[str, Any]) -> bool:
        result = self.lenient.compile_expression(expression)(context)
        return bool(result) and not isinstance(result, Undefined)


def walk_strings(value: Any) -> list[str]:
    """Every string inside a JSON-like structure (keys are not templates)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in walk_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in walk_strings(v)]
    return []


def _required_refs(ast: nodes.Node, root: str) -> list[str]:
    """Names read as ``root.NAME`` / ``root['NAME']``, except under a ``default`` filter."""
    defaulted: set[int] = set()
    for f in ast.find_all(nodes.Filter):
        if f.name in ("default", "d") and f.node is not None:
            defaulted.add(id(f.node))
    names: list[str] = []
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if not isinstance(node, nodes.Getattr | nodes.Getitem):
            continue
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name == root) or id(node) in defaulted:
            continue
        if isinstance(node, nodes.Getattr):
            names.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            names.append(node.arg.value)
    return names


def uses(source: Any, name: str) -> bool:
    """Whether any template in ``source`` reads the top-level ``name``."""
    env = _USES_ENV  # with our filters: an unknown filter would hide every name read
    for text in walk_strings(source):
        try:
            if name in meta.find_undeclared_variables(env.parse(text)):
                return True
        except TemplateError:
            continue
    return False


_USES_ENV = Templates().strict
