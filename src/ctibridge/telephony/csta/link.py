"""One TCP link to a CSTA server: framing + codec, invoke ids, request/answer matching.

Requests are matched to their answer by invoke id (in the frame header for
XML, in ROSE for BER). Everything else the switch sends (events, its own
SystemStatus requests) goes to ``on_message`` in arrival order. An undecodable
payload is counted and logged with its bytes, never fatal; a stream whose
framing is lost closes the link (the connector reconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from dataclasses import replace

import structlog

from .message import Codec, CstaDecodeError, CstaMessage, Framing, Kind

log = structlog.get_logger("ctibridge.csta")


class LinkClosed(ConnectionError):
    """The link went down before the answer came."""


class RequestFailed(Exception):
    """The switch answered with a negative acknowledgement."""

    def __init__(self, answer: CstaMessage) -> None:
        err = answer.error
        super().__init__(f"{answer.name or 'request'} refused: "
                         f"{err.category + '/' + err.value if err else 'no reason given'}")
        self.answer = answer


class CstaLink:
    def __init__(self, codec: Codec, framing: Framing,
                 on_message: Callable[[CstaMessage, int | None], None], *,
                 timeout: float = 10.0, max_invoke_id: int = 9998) -> None:
        self.codec = codec
        self.framing = framing
        self.on_message = on_message
        self.timeout = timeout
        self._ids = itertools.cycle(range(1, max_invoke_id + 1))
        self._pending: dict[int, asyncio.Future[CstaMessage]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.close_reason = ""
        self.undecodable = 0
        self.received = 0  # messages decoded (for health and benchmarks)

    async def connect(self, host: str, port: int, *, timeout: float = 5.0) -> None:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timeout)
        self._task = asyncio.create_task(self._read(), name="csta-link")

    async def close(self, reason: str = "closed") -> None:
        self._fail_all(reason)
        if self._writer is not None:
            self._writer.close()
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    def _fail_all(self, reason: str) -> None:
        if not self.closed.is_set():
            self.close_reason = reason
            self.closed.set()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(LinkClosed(reason))
        self._pending.clear()

    def send(self, msg: CstaMessage, invoke_id: int | None = None) -> None:
        if self._writer is None or self.closed.is_set():
            raise LinkClosed(self.close_reason or "not connected")
        payload = self.codec.encode(replace(msg, invoke_id=invoke_id))
        self._writer.write(self.framing.frame(payload, invoke_id))

    async def request(self, msg: CstaMessage, *, timeout: float | None = None) -> CstaMessage:
        """Send an invoke and wait for its result; a negative answer raises RequestFailed."""
        invoke_id = next(self._ids)
        while invoke_id in self._pending:
            invoke_id = next(self._ids)
        fut: asyncio.Future[CstaMessage] = asyncio.get_running_loop().create_future()
        self._pending[invoke_id] = fut
        try:
            self.send(msg, invoke_id)
            answer = await asyncio.wait_for(fut, timeout or self.timeout)
        except TimeoutError:
            raise LinkClosed(f"no answer to {msg.name} in {timeout or self.timeout:.0f} s") \
                from None
        finally:
            self._pending.pop(invoke_id, None)
        if answer.kind is Kind.ERROR:
            raise RequestFailed(replace(answer, name=answer.name or msg.name))
        return answer

    async def _read(self) -> None:
        assert self._reader is not None
        reason = "closed by the switch"
        try:
            while data := await self._reader.read(65536):
                for frame in self.framing.feed(data):
                    try:
                        msg = self.codec.decode(frame.payload)
                    except CstaDecodeError as exc:
                        self.undecodable += 1
                        log.warning("csta.undecodable", error=str(exc),
                                    payload=frame.payload[:2048])
                        continue
                    self.received += 1
                    invoke_id = frame.invoke_id if frame.invoke_id is not None \
                        else msg.invoke_id
                    if msg.kind in (Kind.RESULT, Kind.ERROR) and invoke_id in self._pending:
                        fut = self._pending.pop(invoke_id)
                        if not fut.done():
                            fut.set_result(msg)
                        continue
                    try:
                        self.on_message(msg, invoke_id)
                    except Exception:  # one bad event must not cut the link
                        log.exception("csta.handler_failed", message=msg.name)
        except CstaDecodeError as exc:
            reason = f"framing lost: {exc}"
        except (ConnectionError, OSError) as exc:
            reason = f"link error: {exc}"
        except asyncio.CancelledError:
            reason = "closed"
            raise
        finally:
            self._fail_all(reason)
