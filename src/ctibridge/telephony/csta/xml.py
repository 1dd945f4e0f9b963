"""ECMA-323 (CSTA XML) codec: payload bytes <-> :class:`CstaMessage`.

Followed: ECMA-323 (XML Protocol for CSTA Phase III), editions 3-5, whose
element names are ECMA-269's; ECMA-354 (application session services) for
``StartApplicationSession``; the real OpenScape Voice messages and templates in
``shared/fixtures/peers/csta/pyssimist`` (they win where they disagree with us).

Decoding is namespace-blind: the ed2 (``ecma.ch``), ed3 (Avaya DMCC), ed4
(OpenScape) and no-namespace forms all mean the same element, prefixed or
not. Documents with a DTD are refused before it is read (the C ElementTree
parser reports ``<!DOCTYPE`` to its target, which raises), so no entity can be
declared, expanded or fetched: no "billion laughs", no external entities, in
any encoding. (defusedxml does the same with the pure-Python parser, 3.7 times
slower on these messages.)

Element attributes (``typeOfNumber``, ``xsi:schemaLocation``) are not carried
into the model: ECMA-269 gives them no meaning the connector uses. An ``args``
key in Clark notation (``{namespace}name``) is written in that namespace (Avaya's
``SessionLoginInfo``), and a key starting with ``@`` is an attribute of its
parent (``xsi:type``); decoding keeps local names only and drops attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from xml.etree.ElementTree import Element, ParseError, SubElement, TreeBuilder, XMLParser, tostring

from .message import (
    CONNECTION_FIELDS,
    CONNECTION_LIST_FIELDS,
    DEVICE_FIELDS,
    ConnectionId,
    ConnectionListItem,
    CstaDecodeError,
    CstaEncodeError,
    CstaError,
    CstaMessage,
    Device,
    DeviceStatus,
    Kind,
    Value,
)

ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
ED4 = "http://www.ecma-international.org/standards/ecma-323/csta/ed4"
ECMA354 = "http://www.ecma-international.org/standards/ecma-354/appl_session"

# ECMA-354 session services (their own namespace).
SESSION_SERVICES = frozenset({
    "StartApplicationSession", "StopApplicationSession", "ResetApplicationSessionTimer",
})
# ECMA-323 spells it with one r; we keep ECMA-269's spelling in the model.
_SPELLING_IN = {"TransferedEvent": "TransferredEvent"}
_SPELLING_OUT = {v: k for k, v in _SPELLING_IN.items()}
_STATUSES = {s.value: s for s in DeviceStatus if s is not DeviceStatus.KNOWN}
# The child element naming the device inside a device-valued field, when it is
# not the event form <deviceIdentifier>.
_DEVICE_CHILD = {"monitorObject": "deviceObject", "endpoint": "deviceID"}
MAX_DEPTH = 32
# A private-data path: "a/b/c", where a part may be "{namespace}name" (its URL has slashes).
_PATH_PART = re.compile(r"\{[^}]*\}[^/]+|[^/]+")
_CONNECTION_PARTS = frozenset({"callID", "deviceID"})


class _DtdRefused(ValueError):
    pass


class _NoDtd(TreeBuilder):
    """ElementTree's C tree builder, refusing any document type declaration."""

    def doctype(self, name: str, pubid: str, system: str) -> None:
        raise _DtdRefused("a DTD (<!DOCTYPE ...>) is not accepted in CSTA XML")


def _parse(payload: bytes) -> Element:
    parser = XMLParser(target=_NoDtd())
    parser.feed(payload)
    root: Element = parser.close()
    return root


def _local(tag: object) -> str:
    if not isinstance(tag, str):  # comments / processing instructions
        return ""
    return _local_name(tag)


@lru_cache(maxsize=4096)  # the same few hundred tags again and again; bounded for a hostile peer
def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _text(el: Element) -> str:
    return (el.text or "").strip()


def _children(el: Element) -> list[Element]:
    return [c for c in el if isinstance(c.tag, str)]


# ------------------------------------------------------------------ decode


def _device(el: Element) -> Device:
    kids = _children(el)
    if not kids:
        return Device.of(_text(el))
    first = kids[0]
    name = _local(first.tag)
    if name in _STATUSES:
        return Device(None, _STATUSES[name])
    inner = _children(first)
    if inner and _local(inner[0].tag) in _STATUSES:  # <deviceIdentifier><notKnown/>...
        return Device(None, _STATUSES[_local(inner[0].tag)])
    # deviceIdentifier / deviceID / deviceObject / numberDialed / explicitPublic...
    return Device.of(_text(first) if not inner else "".join(_text(i) for i in inner))


def _device_id_text(el: Element) -> str:
    kids = _children(el)  # <deviceID><staticID>... forms
    return _text(kids[0]) if kids else _text(el)


def _connection(el: Element) -> ConnectionId:
    call_id: str | None = None
    device_id: str | None = None
    for c in _children(el):
        n = _local(c.tag)
        if n == "callID":
            call_id = _text(c)
        elif n in ("deviceID", "staticID", "dynamicID"):
            device_id = _device_id_text(c)
    return ConnectionId(call_id, device_id)


def _connection_list(el: Element) -> tuple[Value, ...]:
    items: list[Value] = []
    for item in _children(el):
        new = old = None
        endpoint: Device | None = None
        for c in _children(item):
            n = _local(c.tag)
            if n == "newConnection":
                new = _connection(c)
            elif n == "oldConnection":
                old = _connection(c)
            elif n == "endpoint":
                endpoint = _device(c)
        items.append(ConnectionListItem(new, old, endpoint))
    return tuple(items)


def _value(el: Element, depth: int) -> Value:
    if depth > MAX_DEPTH:
        raise CstaDecodeError(f"elements nested deeper than {MAX_DEPTH}")
    name = _local(el.tag)
    kids = _children(el)
    if kids and name != "endpoint" and {_local(k.tag) for k in kids} <= _CONNECTION_PARTS:
        # A ConnectionID wherever it appears: MakeCallResponse's <callingDevice> is one.
        return _connection(el)
    if name in DEVICE_FIELDS:
        return _device(el)
    if name in CONNECTION_FIELDS:
        return _connection(el)
    if name in CONNECTION_LIST_FIELDS:
        return _connection_list(el)
    if not kids:
        # correlatorData/string may be split over lines: whitespace is not data there.
        return _text(el)
    return _mapping(kids, depth + 1)


def _mapping(kids: list[Element], depth: int) -> Mapping[str, Value]:
    """Children by name; a repeated element becomes a tuple under its name (lossless)."""
    out: dict[str, Value] = {}
    lists: dict[str, list[Value]] = {}
    for c in kids:
        key = _local(c.tag)
        v = _value(c, depth)
        if key in lists:
            lists[key].append(v)
        elif key in out:
            lists[key] = [out[key], v]
        else:
            out[key] = v
    for key, values in lists.items():
        out[key] = tuple(values)
    return out


def _private(el: Element, prefix: str, out: dict[str, str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CstaDecodeError(f"private data nested deeper than {MAX_DEPTH}")
    for c in _children(el):
        key = f"{prefix}/{_local(c.tag)}" if prefix else _local(c.tag)
        if _children(c):
            _private(c, key, out, depth + 1)
        else:
            out[key] = _text(c)


def _kind_and_name(root: str) -> tuple[Kind, str]:
    if root == "CSTAErrorCode":
        return Kind.ERROR, ""
    if root.endswith("NegResponse"):
        return Kind.ERROR, root[: -len("NegResponse")]
    if root.endswith("PosResponse"):
        return Kind.RESULT, root[: -len("PosResponse")]
    if root.endswith("Response"):
        return Kind.RESULT, root[: -len("Response")]
    if root.endswith("Event"):
        return Kind.EVENT, _SPELLING_IN.get(root, root)
    return Kind.INVOKE, root


class XmlCodec:
    """ECMA-323. ``namespace`` is what we write (DMCC: ed3; OpenScape: ed4)."""

    name = "xml"

    def __init__(self, namespace: str = ED4, *, max_bytes: int = 1 << 20,
                 foreign: dict[str, str] | None = None) -> None:
        self.namespace = namespace
        self.max_bytes = max_bytes
        # Vendor services outside ECMA-323 (Avaya GetThirdPartyDeviceId): service -> namespace.
        self.foreign = dict(foreign or {})

    def decode(self, payload: bytes) -> CstaMessage:
        if len(payload) > self.max_bytes:
            raise CstaDecodeError(f"XML payload of {len(payload)} bytes exceeds {self.max_bytes}",
                                  payload[:256])
        try:
            root = _parse(payload)
        except (ParseError, ValueError, LookupError) as exc:
            # LookupError: a declaration naming an unknown encoding (found by the fuzz test).
            raise CstaDecodeError(f"not well-formed CSTA XML: {exc}", payload) from None
        except RecursionError:
            raise CstaDecodeError("XML nested too deeply", payload[:256]) from None
        if not isinstance(root.tag, str):
            raise CstaDecodeError("no root element", payload)
        try:
            return self._message(root)
        except RecursionError:
            raise CstaDecodeError("XML nested too deeply", payload[:256]) from None
        except CstaDecodeError as exc:
            raise CstaDecodeError(str(exc), payload) from None

    def _message(self, root: Element) -> CstaMessage:
        rname = _local(root.tag)
        if not rname:
            raise CstaDecodeError("root element has no name")
        kind, name = _kind_and_name(rname)
        cross_ref: str | None = None
        private: dict[str, str] = {}
        kids: list[Element] = []
        for c in _children(root):
            n = _local(c.tag)
            if n == "monitorCrossRefID":
                cross_ref = _text(c)
            elif n == "extensions":
                _private(c, "", private, 0)
            else:
                kids.append(c)
        error: CstaError | None = None
        if kind is Kind.ERROR:
            if kids:
                first = kids[0]
                sub = _children(first)
                error = CstaError(_local(first.tag), _local(sub[0].tag) if sub else _text(first))
            else:
                error = CstaError("unspecified", "")
        args = _mapping(kids, 1) if kind is not Kind.ERROR or rname != "CSTAErrorCode" else {}
        return CstaMessage(kind=kind, name=name, cross_ref=cross_ref, args=args,
                           private=private, error=error)

    # -------------------------------------------------------------- encode

    def root_name(self, msg: CstaMessage) -> str:
        if msg.kind is Kind.EVENT:
            return _SPELLING_OUT.get(msg.name, msg.name)
        if msg.kind is Kind.INVOKE:
            return msg.name
        if msg.kind is Kind.RESULT:
            return msg.name + ("PosResponse" if msg.name in SESSION_SERVICES else "Response")
        if msg.name in SESSION_SERVICES:
            return msg.name + "NegResponse"
        return "CSTAErrorCode"

    def encode(self, msg: CstaMessage) -> bytes:
        if not msg.name and msg.kind is not Kind.ERROR:
            raise CstaEncodeError("a CSTA message needs a service or event name")
        ns = ECMA354 if msg.name in SESSION_SERVICES else self.foreign.get(msg.name,
                                                                              self.namespace)
        root = Element(self.root_name(msg), {"xmlns": ns})
        if msg.cross_ref is not None:
            SubElement(root, "monitorCrossRefID").text = msg.cross_ref
        if msg.kind is Kind.ERROR:
            err = msg.error or CstaError("unspecified", "generic")
            if root.tag == "CSTAErrorCode":
                SubElement(root, err.category).text = err.value
            else:
                SubElement(root, "errorCode").text = err.value
        for key, value in msg.args.items():
            self._put(root, key, value, msg.kind)
        if msg.private:
            ext = SubElement(root, "extensions")
            for path, text in msg.private.items():
                el = ext
                for part in _PATH_PART.findall(path):
                    found = next((c for c in el if c.tag == part), None)
                    el = found if found is not None else SubElement(el, part)
                el.text = text
        return b'<?xml version="1.0" encoding="UTF-8"?>' + tostring(root, encoding="unicode")\
            .encode()

    def _put(self, parent: Element, key: str, value: Value, kind: Kind) -> None:
        if key.startswith("@") and isinstance(value, str):
            parent.set(key[1:], value)  # an attribute (Avaya's xsi:type); encoding only
            return
        if isinstance(value, tuple) and key not in CONNECTION_LIST_FIELDS:
            for v in value:  # a repeated element
                self._put(parent, key, v, kind)
            return
        el = SubElement(parent, key)
        if isinstance(value, str):
            el.text = value
        elif isinstance(value, Device):
            self._device(el, key, value, kind)
        elif isinstance(value, ConnectionId):
            _put_connection(el, value)
        elif isinstance(value, tuple):
            for v in value:
                if isinstance(v, ConnectionListItem):
                    item = SubElement(el, "connectionListItem")
                    if v.new_connection is not None:
                        _put_connection(SubElement(item, "newConnection"), v.new_connection)
                    if v.old_connection is not None:
                        _put_connection(SubElement(item, "oldConnection"), v.old_connection)
                    if v.endpoint is not None:
                        self._device(SubElement(item, "endpoint"), "endpoint", v.endpoint, kind)
                else:
                    raise CstaEncodeError(f"{key}: list items must be connections, not {v!r}")
        elif isinstance(value, Mapping):
            for k2, v2 in value.items():
                self._put(el, k2, v2, kind)
        else:
            raise CstaEncodeError(f"{key}: cannot encode {value!r}")

    def _device(self, el: Element, key: str, d: Device, kind: Kind) -> None:
        if d.id is None:
            SubElement(el, d.status.value)
            return
        child = _DEVICE_CHILD.get(key)
        if child is None and kind in (Kind.EVENT, Kind.RESULT):
            child = "deviceIdentifier"  # SubjectDeviceID / ExtendedDeviceID form
        if child is None:
            el.text = d.id  # a plain DeviceID in a request
        else:
            SubElement(el, child).text = d.id


def _put_connection(el: Element, c: ConnectionId) -> None:
    if c.call_id is not None:
        SubElement(el, "callID").text = c.call_id
    if c.device_id is not None:
        SubElement(el, "deviceID").text = c.device_id

