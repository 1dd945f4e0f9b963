"""The ESL client over a real socket against a fake event socket (fake_esl.py)."""

from __future__ import annotations

import asyncio

import pytest

from ctibridge.telephony.freeswitch.client import (
    DISCONNECTED,
    OVERFLOW,
    EslAuthError,
    EslClient,
    EslCommandError,
    EslConnectionError,
    quote,
)
from ctibridge.telephony.freeswitch.esl import EslParser, Event, Frame, parse_event

from .fake_esl import FakeEsl, event_frame, event_frames


@pytest.fixture
async def fake():  # noqa: ANN201
    server = FakeEsl(password="s3cret")
    await server.start()
    yield server
    await server.stop()


async def connected(fake: FakeEsl, **kw: object) -> EslClient:
    c = EslClient("127.0.0.1", fake.port, "s3cret", **kw)  # type: ignore[arg-type]
    await c.connect()
    return c


async def test_auth_subscribe_and_api(fake: FakeEsl) -> None:
    c = await connected(fake)
    await c.subscribe("plain", "CHANNEL_CREATE CUSTOM callcenter::info")
    await c.filter("Event-Name", "CHANNEL_CREATE")
    assert (await c.api("version")).startswith("FreeSWITCH Version")
    assert fake.commands[:3] == ["auth s3cret", "event plain CHANNEL_CREATE CUSTOM "
                                 "callcenter::info", "filter Event-Name CHANNEL_CREATE"]
    await c.close()


async def test_a_refused_password_is_an_auth_error_naming_the_config(fake: FakeEsl) -> None:
    c = EslClient("127.0.0.1", fake.port, "wrong")
    with pytest.raises(EslAuthError, match="event_socket.conf.xml"):
        await c.connect()


async def test_nobody_listening_is_a_connection_error() -> None:
    server = FakeEsl()
    port = await server.start()
    await server.stop()
    with pytest.raises(EslConnectionError, match="cannot reach"):
        await EslClient("127.0.0.1", port, "x", timeout=2).connect()


async def test_api_errors_are_raised_with_freeswitchs_text(fake: FakeEsl) -> None:
    fake.api["uuid_kill nope"] = "-ERR No such channel!\n"
    fake.api["originate"] = "-USAGE: <call url> <exten>|&<application_name>(<app_args>)\n"
    c = await connected(fake)
    with pytest.raises(EslCommandError, match="No such channel"):
        await c.api("uuid_kill nope")
    with pytest.raises(EslCommandError, match="-USAGE"):
        await c.api("originate")
    assert (await c.api("uuid_kill nope", check=False)).startswith("-ERR")
    await c.close()


async def test_replies_answer_commands_in_the_order_sent(fake: FakeEsl) -> None:
    fake.api["echo*"] = lambda cmd: cmd[5:]
    c = await connected(fake)
    got = await asyncio.gather(*(c.api(f"echo {n}") for n in range(50)))
    assert got == [str(n) for n in range(50)]
    await c.close()


async def test_bgapi_result_comes_with_its_job_uuid(fake: FakeEsl) -> None:
    fake.bgapi_result = lambda cmd: "-ERR USER_BUSY\n" if "0999999999" in cmd else "+OK x\n"
    c = await connected(fake)
    await c.subscribe("plain", "BACKGROUND_JOB")
    busy = await c.bgapi("originate user/6001@default 0999999999 XML internal")
    ok = await c.bgapi("originate user/6001@default 0987654321 XML internal")
    assert busy.uuid != ok.uuid
    assert await ok.result == "+OK x\n" and await busy.result == "-ERR USER_BUSY\n"
    await c.close()


async def test_events_arrive_decoded_in_order(fake: FakeEsl) -> None:
    c = await connected(fake)
    await c.subscribe()
    frames = event_frames("03-inbound-abandoned.esl")
    await fake.push(*frames)
    names = []
    for _ in frames:
        ev = await c.events.get()
        assert isinstance(ev, Event)
        names.append(ev.name)
    expected = [parse_event(f).name for f in EslParser().feed(b"".join(frames))
                if isinstance(f, Frame)]
    assert names == expected and "CUSTOM" in names
    await c.close()


async def test_a_slow_consumer_gets_an_overflow_marker_not_a_stalled_socket(
        fake: FakeEsl) -> None:
    c = await connected(fake, max_backlog=10)
    await c.subscribe()
    await fake.push(*(event_frame({"Event-Name": "HEARTBEAT", "N": str(n)})
                      for n in range(25)))
    await c.api("status")  # the reply comes after every event: all were read
    items = []
    while not c.events.empty():
        items.append(c.events.get_nowait())
    assert OVERFLOW in items and len(items) <= 11
    await c.close()


async def test_exit_is_answered_with_a_disconnect_notice(fake: FakeEsl) -> None:
    c = await connected(fake)
    await c.command("exit")
    reason = await c.wait_closed()
    assert "disconnected us" in reason and "goodbye" in reason
    assert (await c.events.get()) == DISCONNECTED


async def test_a_silent_switch_is_found_dead_by_the_keepalive(fake: FakeEsl) -> None:
    c = await connected(fake, ping_interval=0.2, timeout=0.3)
    fake.silent = True  # the TCP link stays open; nothing answers any more
    reason = await c.wait_closed()
    assert "no reply to 'api'" in reason
    with pytest.raises(EslConnectionError):
        await c.api("status")


async def test_a_cut_link_fails_the_commands_waiting(fake: FakeEsl) -> None:
    c = await connected(fake)
    fake.silent = True
    pending = asyncio.create_task(c.api("status", timeout=30))
    await asyncio.sleep(0)
    await fake.drop()
    with pytest.raises(EslConnectionError):
        await pending


async def test_a_line_break_cannot_smuggle_a_second_command(fake: FakeEsl) -> None:
    c = await connected(fake)
    with pytest.raises(ValueError, match="line break"):
        await c.api("status\n\napi fsctl shutdown")
    with pytest.raises(ValueError):
        quote("On Break'\n")
    assert quote("On Break") == "'On Break'"
    await c.close()
