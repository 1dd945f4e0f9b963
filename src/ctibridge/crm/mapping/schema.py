"""The mapping file's schema: what a CRM mapping may say, refused when it says it wrong.

Every model forbids unknown keys, so a typo is an error rather than a silently
ignored setting. Templates, ``when`` expressions and JMESPath expressions are
compiled while the file is validated, and references to environment variables
and variables are checked against what is set, so a broken file fails at start,
not on the first call. Checks that span sections (an HTTP lookup needs a base
URL...) are in ``cross_check``, which names the field they concern.
"""

# No ``from __future__ import annotations``: the request models are built per scope
# below, and pydantic must see their template types as objects, not strings.

from typing import Annotated, Any, Literal

import jmespath
import phonenumbers
from jmespath.exceptions import JMESPathError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import text
from sqlalchemy.exc import ArgumentError

from .phones import Format
from .templates import Templates, walk_strings

_CHECKER = Templates()
Loc = tuple[str | int, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _template(scope: str, *, expression: bool = False) -> AfterValidator:
    """A validator checking a string template against what ``scope`` may read."""
    def check(value: str, info: ValidationInfo) -> str:
        _CHECKER.check(value, scope, info.context, expression=expression)
        return value

    return AfterValidator(check)


def _json_template(scope: str) -> AfterValidator:
    """A validator checking every string template inside a JSON value."""
    def check(value: Any, info: ValidationInfo) -> Any:
        for s in walk_strings(value):
            _CHECKER.check(s, scope, info.context)
        return value

    return AfterValidator(check)


def _jmespath(value: str) -> str:
    try:
        jmespath.compile(value)
    except JMESPathError as exc:
        where = getattr(exc, "lex_position", None)
        why = getattr(exc, "msg", None) or str(exc).splitlines()[0]
        at = f" at character {where}" if isinstance(where, int) else ""
        raise ValueError(f"not a valid JMESPath expression ({why}{at})") from None
    return value


StaticTemplate = Annotated[str, _template("static")]
LookupTemplate = Annotated[str, _template("lookup")]
StepTemplate = Annotated[str, _template("step")]
RecordTemplate = Annotated[str, _template("record")]
PopTemplate = Annotated[str, _template("pop")]
LogTemplate = Annotated[str, _template("log")]
When = Annotated[str, _template("lookup", expression=True)]
LookupJson = Annotated[Any, _json_template("lookup")]
StepJson = Annotated[Any, _json_template("step")]
LogJson = Annotated[Any, _json_template("log")]
JmesPath = Annotated[str, AfterValidator(_jmespath)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


def _sql(value: str) -> str:
    if not value.strip():
        raise ValueError("the SQL query is empty")
    return value


def sql_parameters(sql: str) -> list[str]:
    """The ``:name`` parameters of a query, as SQLAlchemy binds them."""
    try:
        return list(text(sql).compile().params)
    except ArgumentError as exc:
        raise ValueError(f"bad SQL: {exc}") from None


# -- connection and auth ---------------------------------------------------------------

class Connection(_Strict):
    """Where the CRM is: an HTTP API (``base_url``) or its database (``database_url``)."""

    base_url: StaticTemplate | None = None
    database_url: StaticTemplate | None = None
    headers: dict[str, StaticTemplate] = Field(default_factory=dict)
    timeout_seconds: float = Field(5.0, gt=0, le=120)
    # Lookups only: the call log is retried by the hub's outbox.
    retries: int = Field(1, ge=0, le=5)
    retry_backoff_seconds: float = Field(0.2, ge=0, le=10)
    verify_tls: bool = True


class NoAuth(_Strict):
    type: Literal["none"]


class BasicAuth(_Strict):
    type: Literal["basic"]
    username: StaticTemplate
    password: StaticTemplate


class BearerAuth(_Strict):
    type: Literal["bearer"]
    token: StaticTemplate


class ApiKeyAuth(_Strict):
    type: Literal["api_key"]
    name: str = Field(min_length=1)  # header or query parameter name
    value: StaticTemplate
    location: Literal["header", "query"] = Field("header", alias="in")


class OAuth2ClientCredentials(_Strict):
    type: Literal["oauth2_client_credentials"]
    token_url: StaticTemplate
    client_id: StaticTemplate
    client_secret: StaticTemplate
    scope: str | None = None
    # How the client proves itself: form fields (most CRMs) or HTTP Basic (RFC 6749 2.3.1).
    client_auth: Literal["body", "basic"] = "body"
    extra_params: dict[str, StaticTemplate] = Field(default_factory=dict)  # audience, resource…


class OAuth2RefreshToken(_Strict):
    type: Literal["oauth2_refresh_token"]
    token_url: StaticTemplate
    client_id: StaticTemplate
    client_secret: StaticTemplate | None = None
    refresh_token: StaticTemplate
    scope: str | None = None
    client_auth: Literal["body", "basic"] = "body"
    extra_params: dict[str, StaticTemplate] = Field(default_factory=dict)


class OAuth2JwtBearer(_Strict):
    """RFC 7523 JWT bearer grant: the hub signs a short assertion with its private key
    (Salesforce's server-to-server flow; no secret or refresh token to store)."""

    type: Literal["oauth2_jwt_bearer"]
    token_url: StaticTemplate
    client_id: StaticTemplate          # the assertion's issuer (Salesforce: consumer key)
    subject: StaticTemplate            # the user the hub acts as (Salesforce: username)
    audience: StaticTemplate           # Salesforce: https://login.salesforce.com or test.
    private_key: StaticTemplate        # PEM text, normally {{ env.NAME }}
    algorithm: Literal["RS256", "RS384", "RS512", "ES256"] = "RS256"
    # Salesforce refuses an assertion whose exp is more than 3 minutes away.
    lifetime_seconds: int = Field(180, ge=30, le=3600)
    scope: str | None = None


Auth = Annotated[
    NoAuth | BasicAuth | BearerAuth | ApiKeyAuth | OAuth2ClientCredentials | OAuth2RefreshToken
    | OAuth2JwtBearer,
    Field(discriminator="type"),
]


DEFAULT_FORMATS: tuple[Format, ...] = ("e164", "national_digits", "national", "digits")


class PhoneSettings(_Strict):
    default_region: str | None = None  # ISO 3166 code used to read national numbers
    # The spellings the CRM stores, tried in this order by phone lookups.
    formats: list[Format] = Field(default_factory=lambda: list(DEFAULT_FORMATS), min_length=1)
    # Last resort: match on the last N digits (may match someone else: keep it off if unsure).
    last_digits: int | None = Field(None, ge=4, le=15)

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is not None and "{{" in v:
            # A preset's region comes from the hub's config: {{ vars.region | default('FR') }}.
            _CHECKER.check(v, "static", info.context)
            v = _CHECKER.render(v, dict(info.context or {}))
        if v is not None and v.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {v!r}; expected an ISO 3166 code such as FR, "
                             "US, GB, DE, CH")
        return v.upper() if v else v


# -- requests --------------------------------------------------------------------------

class LookupRequest(_Strict):
    method: Method = "GET"
    # Relative to connection.base_url, or absolute.
    path: LookupTemplate
    query: dict[str, LookupJson] = Field(default_factory=dict)  # a null value is left out
    headers: dict[str, LookupTemplate] = Field(default_factory=dict)
    json_body: LookupJson = Field(None, alias="json")
    form: dict[str, LookupTemplate] | None = None


class StepRequest(_Strict):
    """The same as LookupRequest, its templates reading also ``record`` (the record the
    step before found)."""

    method: Method = "GET"
    path: StepTemplate
    query: dict[str, StepJson] = Field(default_factory=dict)
    headers: dict[str, StepTemplate] = Field(default_factory=dict)
    json_body: StepJson = Field(None, alias="json")
    form: dict[str, StepTemplate] | None = None


class LogRequest(_Strict):
    """The same as LookupRequest, its templates reading the log's context."""

    method: Method = "GET"
    path: LogTemplate
    query: dict[str, LogJson] = Field(default_factory=dict)
    headers: dict[str, LogTemplate] = Field(default_factory=dict)
    json_body: LogJson = Field(None, alias="json")
    form: dict[str, LogTemplate] | None = None


LookupParams = dict[str, LookupJson]
StepParams = dict[str, StepJson]
LogParams = dict[str, LogJson]


class RecordSpec(_Strict):
    """How to read one record of a result (JMESPath, relative to the record)."""

    id: JmesPath
    name: JmesPath | None = None
    company: JmesPath | None = None
    url: JmesPath | None = None  # when the CRM gives the record's page; else screen_pop.record_url
    kind: str = "contact"
    fields: dict[str, JmesPath] = Field(default_factory=dict)


class LookupStep(_Strict):
    """A request (or query) run after a lookup's first one, once for each record found
    so far, reading it as ``record``: e.g. search by phone, then fetch each match's
    details. What it finds replaces that record (merged into it by default)."""

    request: StepRequest | None = None
    sql: Annotated[str, AfterValidator(_sql)] | None = None
    params: StepParams = Field(default_factory=dict)
    results: JmesPath = "@"
    # Fetch for at most this many records (the first ones); the others stay as found.
    max_records: int = Field(5, ge=1, le=50)
    # Merge the answer into the record (its fields win), or replace the record with it.
    merge: bool = True
    # Statuses that mean "this record no longer exists": it is dropped from the results.
    empty_statuses: list[int] = Field(default_factory=lambda: [404])


class Lookup(_Strict):
    name: Name
    # A Jinja expression; the lookup runs only when it is true (e.g. attached.customer_id).
    when: When | None = None
    # Search by the caller's number: run once per phone format (``{{ number }}``) until a match.
    phone: bool = False
    formats: list[Format] | None = None  # this lookup's formats, instead of phone.formats
    request: LookupRequest | None = None
    sql: Annotated[str, AfterValidator(_sql)] | None = None
    params: LookupParams = Field(default_factory=dict)
    results: JmesPath = "@"  # where the records are in the answer (a list, or one object)
    record: RecordSpec | None = None  # instead of the file's top-level ``record``
    # Statuses that mean "no such record" rather than a fault (e.g. 404 for GET /contacts/{id}).
    empty_statuses: list[int] = Field(default_factory=list)
    # Steps run after this lookup's request, in order, each once per record found so far
    # (one mapping or a list). They share what is left of connection.timeout_seconds.
    then: list[LookupStep] = Field(default_factory=list)

    @field_validator("then", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v


class ScreenPop(_Strict):
    record_url: RecordTemplate | None = None  # the page of a record, when the CRM gives none
    create_url: PopTemplate | None = None  # a new-record form prefilled with the number
    search_url: PopTemplate | None = None  # the CRM's search page for this caller
    on_several: Literal["choose", "first", "search"] = "choose"
    on_none: Literal["create", "search", "nothing"] = "create"
    max_matches: int = Field(10, ge=1, le=100)


class FindExisting(_Strict):
    """The check step: does the CRM hold this interaction's log already?

    Run before any write whose earlier attempt's outcome is unknown (a timeout after
    the request left, a connection lost mid-answer, a hub that died while sending).
    Templated like the log (``interaction``, ``record``, ``idempotency_key``); the log is
    there when ``results`` finds at least one record.
    """

    request: LogRequest | None = None
    sql: Annotated[str, AfterValidator(_sql)] | None = None
    params: LogParams = Field(default_factory=dict)
    results: JmesPath = "@"  # where the found records are (a list, or one object)
    id: JmesPath | None = None  # the activity's id in a found record
    # Statuses meaning "not there" rather than a fault (e.g. 404 for GET /calls/{key}).
    empty_statuses: list[int] = Field(default_factory=list)


class CreateRecord(_Strict):
    """``log.create``: create the record to log against (e.g. a lead for an unknown caller);
    the created record is read with ``record`` and fed to the log as ``record``."""

    request: LogRequest | None = None
    sql: Annotated[str, AfterValidator(_sql)] | None = None
    params: LogParams = Field(default_factory=dict)
    results: JmesPath = "@"  # where the created record is in the answer
    record: RecordSpec


class CatchAll(_Strict):
    """A fixed record to log against (e.g. an "Unknown callers" account)."""

    id: LogTemplate
    kind: str = "account"
    name: str | None = None


class FallbackStep(_Strict):
    """One step of ``log.fallback``: exactly one of its actions."""

    # Only for calls with no match (``none``), several (``several``), or both (``any``).
    when: Literal["none", "several", "any"] = "any"
    lookup: Name | None = None  # run this lookup of the file; one match is logged against
    record: CatchAll | None = None  # log against this fixed record
    create: bool = False  # create the record first (log.create)
    wait_for_agent: float | None = Field(None, gt=0, le=7 * 24 * 60)  # minutes
    skip: str | None = Field(None, min_length=1, max_length=300)  # the stated reason

    def action(self) -> str:
        given = [k for k in ("lookup", "record", "wait_for_agent", "skip")
                 if getattr(self, k) is not None] + (["create"] if self.create else [])
        return given[0] if len(given) == 1 else ""


class LogSpec(_Strict):
    """How a finished interaction is written into the CRM's history."""

    # The CRM honours {{ idempotency_key }}: sending the same key twice makes one record.
    idempotent: bool = False
    find_existing: FindExisting | None = None
    create: CreateRecord | None = None
    # When no single record is linked (none, or several the agent did not choose among):
    # these steps in order; the first that gives a record (or waits, or skips) wins.
    fallback: list[FallbackStep] = Field(default_factory=list)

    # No record known at log time: look the number up again (the agent may have created the
    # contact during the call), skip logging, or log without a record.
    when_no_record: Literal["lookup", "skip", "log"] = "lookup"
    request: LogRequest | None = None
    sql: Annotated[str, AfterValidator(_sql)] | None = None
    params: LogParams = Field(default_factory=dict)
    activity_id: JmesPath | None = None  # where the created activity's id is in the answer
    # 2xx statuses that mean "already logged with this key" (an idempotent replay).
    replay_statuses: list[int] = Field(default_factory=list)
    # 409 Conflict means the activity already exists: count it as logged.
    conflict_is_success: bool = False
    # Other error statuses meaning "a record with this key exists already": e.g. 412 from
    # Dynamics 365 for an upsert sent with If-None-Match: * (create only, never update).
    exists_statuses: list[Annotated[int, Field(ge=400, le=499)]] = Field(default_factory=list)
    # Refuse a log request that does not send the idempotency key, unless the CRM cannot.
    allow_duplicates: bool = False


class MappingFile(_Strict):
    name: Name
    description: str = ""
    version: Literal[1] = 1
    connection: Connection
    auth: Auth = Field(default_factory=lambda: NoAuth(type="none"))
    phone: PhoneSettings = Field(default_factory=PhoneSettings)
    # Lookup tables for templates, e.g. tables.direction[interaction.direction].
    tables: dict[str, dict[str, Any]] = Field(default_factory=dict)
    record: RecordSpec | None = None
    lookups: list[Lookup] = Field(min_length=1)
    screen_pop: ScreenPop = Field(default_factory=ScreenPop)
    log: LogSpec | None = None


def cross_check(m: MappingFile) -> list[tuple[Loc, str]]:
    """Problems spanning sections, each with the field it concerns."""
    from .templates import uses

    problems: list[tuple[Loc, str]] = []
    c = m.connection
    if (c.base_url is None) == (c.database_url is None):
        problems.append((("connection",), "give exactly one of base_url (an HTTP API) or "
                                          "database_url (the CRM's database)"))
    seen: set[str] = set()
    for i, lk in enumerate(m.lookups):
        at: Loc = ("lookups", i)
        if lk.name in seen:
            problems.append((at + ("name",), f"the lookup name {lk.name!r} is used twice"))
        seen.add(lk.name)
        problems += _kind_problems(at, lk.request, lk.sql, lk.params, c)
        if lk.record is None and m.record is None:
            problems.append((at, "no record: say how to read a record (id, name…) here or "
                                 "at the top level"))
        for j, step in enumerate(lk.then):
            where: Loc = at + ("then", j)
            problems += _kind_problems(where, step.request, step.sql, step.params, c)
            source = [step.request.model_dump(by_alias=True) if step.request else None,
                      step.params]
            if not uses(source, "record"):
                problems.append((where, "a then step must read {{ record.… }} (the record "
                                        "the step before found), or it fetches the same "
                                        "thing for every record"))
        if lk.phone and not uses([lk.request.model_dump(by_alias=True) if lk.request else None,
                                  lk.params], "number"):
            problems.append((at + ("phone",), "a phone lookup must search for {{ number }} "
                                              "(the number in each configured format)"))
    p = m.screen_pop
    if p.on_none == "create" and p.create_url is None and "on_none" in p.model_fields_set:
        problems.append((("screen_pop", "on_none"), "'create' needs screen_pop.create_url"))
    if "search" in (p.on_none, p.on_several) and p.search_url is None:
        problems.append((("screen_pop",), "'search' needs screen_pop.search_url"))
    if m.log is not None:
        lg = m.log
        problems += _kind_problems(("log",), lg.request, lg.sql, lg.params, c)
        body = [lg.request.model_dump(by_alias=True) if lg.request else None, lg.params]
        if not lg.allow_duplicates and not uses(body, "idempotency_key"):
            problems.append((("log",), "the log request never sends {{ idempotency_key }}; "
                             "send it (header or field) so a retry cannot log twice, or set "
                             "allow_duplicates: true if the CRM cannot de-duplicate"))
        problems += _log_steps_problems(m, lg)
    return problems


def _kind_problems(at: Loc, request: Any, sql: str | None, params: dict[str, Any],
                   c: Connection) -> list[tuple[Loc, str]]:
    if (request is None) == (sql is None):
        return [(at, "give exactly one of request (HTTP) or sql")]
    if request is not None and c.base_url is None:
        return [(at + ("request",), "an HTTP request needs connection.base_url")]
    if sql is not None:
        if c.database_url is None:
            return [(at + ("sql",), "an SQL query needs connection.database_url")]
        try:
            wanted = sql_parameters(sql)
        except ValueError as exc:
            return [(at + ("sql",), str(exc))]
        missing = [p for p in wanted if p not in params]
        if missing:
            return [(at + ("params",), f"the query uses :{missing[0]} but params gives no "
                                       f"value for it")]
        unused = [p for p in params if p not in wanted]
        if unused:
            return [(at + ("params", unused[0]), "not used by the query (write :"
                                                 f"{unused[0]} in it, or remove it)")]
    return []



def _log_steps_problems(m: MappingFile, lg: LogSpec) -> list[tuple[Loc, str]]:
    """find_existing, create and fallback: each well formed, each reference resolvable."""
    c = m.connection
    problems: list[tuple[Loc, str]] = []
    if lg.find_existing is not None:
        f = lg.find_existing
        problems += _kind_problems(("log", "find_existing"), f.request, f.sql, f.params, c)
    if lg.create is not None:
        cr = lg.create
        problems += _kind_problems(("log", "create"), cr.request, cr.sql, cr.params, c)
    names = {lk.name for lk in m.lookups}
    for i, step in enumerate(lg.fallback):
        at: Loc = ("log", "fallback", i)
        action = step.action()
        if not action:
            problems.append((at, "give exactly one of lookup, record, create, wait_for_agent "
                                 "(minutes) or skip (a reason)"))
        elif action == "lookup" and step.lookup not in names:
            problems.append((at + ("lookup",), f"no lookup is named {step.lookup!r}; "
                                               f"expected one of: {', '.join(sorted(names))}"))
        elif action == "create" and lg.create is None:
            problems.append((at + ("create",), "'create' needs log.create (the request that "
                                               "creates the record)"))
    return problems


def log_warnings(m: MappingFile) -> list[tuple[Loc, str]]:
    """Legal but risky: said by ``mapping check``, not refused."""
    lg = m.log
    if lg is None:
        return []
    out: list[tuple[Loc, str]] = []
    keyed = (lg.idempotent or lg.conflict_is_success or bool(lg.replay_statuses)
             or bool(lg.exists_statuses))
    if not keyed and lg.find_existing is None:
        out.append((("log",), "the CRM is not said to de-duplicate on {{ idempotency_key }} "
                    "and there is no check step: a log whose outcome is unknown (a timeout, "
                    "a connection lost mid-answer, a hub crash) becomes 'uncertain' and waits "
                    "for an operator. Declare log.find_existing (how to find a logged call "
                    "again), or log.idempotent: true if the CRM honours the key"))
    steps = [s.action() for s in lg.fallback]
    if lg.when_no_record == "lookup" and not steps:
        out.append((("log", "fallback"), "no fallback: a call with no single record (unknown "
                    "or shared number) is logged without a record, which many CRMs refuse "
                    "(the row then fails, with the CRM's reason). Say what to do: lookup, "
                    "record, create, wait_for_agent or skip"))
    return out
