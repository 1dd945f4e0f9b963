"""Link loss, resync from snapshots, keep-alives and session refusals, over real TCP."""

from __future__ import annotations

import asyncio

import pytest

from ctibridge.model.agent import AgentStatus
from ctibridge.model.errors import PlatformError
from ctibridge.model.events import (
    CallAnswered,
    CallEnded,
    CallOffered,
    PlatformResynced,
    PlatformStatus,
)

from .harness import Rig, make_rig


async def test_link_loss_then_resync_drops_the_ghost_and_keeps_the_live_call(rig: Rig) -> None:
    rig.switch.inbound_call("0612345678", "2001")
    live = (await rig.wait(CallOffered, lambda e: e.device == "2001")).ref
    await rig.connector.answer(live, "2001")
    await rig.wait(CallAnswered, lambda e: e.ref == live)
    ghost_id = rig.switch.inbound_call("0698765432", "2002")
    await rig.wait(CallOffered, lambda e: e.device == "2002")
    old_xrefs = set(rig.switch.monitors)
    mark = rig.mark()

    await rig.peer.drop_links()
    rig.switch.hang_up_silently(ghost_id)  # ends while nobody listens

    down = await rig.wait(PlatformStatus, lambda e: not e.up, after=mark)
    assert down.detail
    resync = await rig.wait(PlatformResynced, after=mark)
    await rig.wait(PlatformStatus, lambda e: e.up, after=mark)
    assert [s.ref for s in resync.calls] == [live]  # the same ref as before the outage
    assert resync.calls[0].devices == {"2001": "connected", "0612345678": "connected"}
    assert resync.calls[0].customer.number == "0612345678"
    # Monitors were started again, with new cross-reference ids.
    assert len(rig.switch.monitors) == 3 and not old_xrefs & set(rig.switch.monitors)
    await rig.connector.hangup(live, "2001")
    await rig.wait(CallEnded, lambda e: e.ref == live and e.device is None, after=mark)


async def test_a_call_that_started_during_the_outage_appears_in_the_resync(rig: Rig) -> None:
    mark = rig.mark()
    await rig.peer.drop_links()
    rig.switch.inbound_call("0611111111", "2003")  # rings while we are away
    resync = await rig.wait(PlatformResynced, after=mark)
    assert len(resync.calls) == 1
    snap = resync.calls[0]
    assert snap.devices["2003"] == "alerting"
    await rig.connector.answer(snap.ref, "2003")
    await rig.wait(CallAnswered, lambda e: e.ref == snap.ref, after=mark)


async def test_a_resync_on_the_live_link_drops_the_ghost_and_holds_events_behind_it(
    rig: Rig,
) -> None:
    """What the hybrid edge asks after a WAN cut: the snapshots of a reconnect, on the
    link as it is (no PlatformStatus, the same monitors), commands still served."""
    await rig.wait(PlatformStatus, lambda e: e.up)
    rig.switch.inbound_call("0612345678", "2001")
    live = (await rig.wait(CallOffered, lambda e: e.device == "2001")).ref
    ghost_id = rig.switch.inbound_call("0698765432", "2002")
    await rig.wait(CallOffered, lambda e: e.device == "2002")
    rig.switch.hang_up_silently(ghost_id)  # nobody heard it end
    xrefs = set(rig.switch.monitors)
    mark = rig.mark()

    # The answer is written before the snapshots: its events reach us mid-resync.
    await asyncio.gather(rig.connector.resync(), rig.connector.answer(live, "2001"))
    resync = await rig.wait(PlatformResynced, after=mark)
    assert [s.ref for s in resync.calls] == [live]
    assert resync.calls[0].devices["2001"] == "connected"
    # Held back until the snapshot was out: nothing of the call's comes before it.
    assert isinstance(rig.since(mark)[0], PlatformResynced), rig.since(mark)
    assert not [e for e in rig.since(mark) if isinstance(e, PlatformStatus)]
    assert rig.connector.link_count == 1 and set(rig.switch.monitors) == xrefs
    await rig.connector.hangup(live, "2001")
    await rig.wait(CallEnded, lambda e: e.ref == live and e.device is None, after=mark)


async def test_garbage_from_the_switch_is_counted_and_the_link_stays(rig: Rig) -> None:
    rig.peer.send_raw(b"<DeliveredEvent><unclosed>")
    rig.switch.inbound_call("0612345678", "2001")
    await rig.wait(CallOffered)
    assert rig.connector.health().up
    assert rig.connector.undecodable == 1


async def test_switch_system_status_is_answered_and_reported(rig: Rig) -> None:
    mark = rig.mark()
    rig.peer.send_system_status("disabled")
    down = await rig.wait(PlatformStatus, lambda e: not e.up, after=mark)
    assert "disabled" in down.detail
    await rig.until(lambda: any(m.name == "SystemStatus" and m.kind.value == "result"
                                for s in rig.peer.sessions for m in s.received))


@pytest.mark.parametrize("vendor", ["avaya", "openscape"])
async def test_heartbeats_flow_while_idle(vendor: str) -> None:
    r = await make_rig(vendor, heartbeat=0.05)
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        name = "ResetApplicationSessionTimer" if vendor == "avaya" else "SystemStatus"
        await r.until(lambda: r.switch.requests.count(name) + r.peer.timer_resets >= 3)
    finally:
        await r.stop()


@pytest.mark.parametrize("vendor", ["avaya", "openscape"])
async def test_an_unanswered_heartbeat_drops_the_link_and_it_comes_back(vendor: str) -> None:
    r = await make_rig(vendor, heartbeat=0.05, request_timeout=0.3)
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        first_links = r.connector.link_count
        mark = r.mark()
        r.peer.deaf = True
        down = await r.wait(PlatformStatus, lambda e: not e.up, after=mark)
        assert "heartbeat" in down.detail or "answer" in down.detail
        r.peer.deaf = False
        await r.wait(PlatformStatus, lambda e: e.up, after=mark)
        assert r.connector.link_count > first_links
    finally:
        await r.stop()


async def test_dmcc_refused_login_is_reported_and_retried() -> None:
    r = await make_rig("avaya", password="wrong")
    try:
        down = await r.wait(PlatformStatus, lambda e: not e.up)
        assert "refused" in down.detail and "invalidApplicationInfo" in down.detail
        assert r.switch.monitors == {}
        r.peer.password = "wrong"  # the AES user is fixed on the server side
        await r.wait(PlatformStatus, lambda e: e.up)
    finally:
        await r.stop()


async def test_dmcc_device_ids_come_from_the_server() -> None:
    r = await make_rig("avaya")
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        assert r.connector.device_ids()["2001"] == "2001:CM1:10.0.0.1:0"
        assert {m.device for m in r.switch.monitors.values()} == {"2001", "2002", "2003"}
        names = r.peer.requests
        assert names[0] == "StartApplicationSession"
        assert "GetThirdPartyDeviceId" in names
    finally:
        await r.stop()


@pytest.mark.parametrize("vendor", ["avaya", "openscape"])
async def test_stop_ends_the_monitors_and_the_session_politely(vendor: str) -> None:
    r = await make_rig(vendor)
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        await r.connector.stop()
        assert r.switch.requests.count("MonitorStop") == 3
        if vendor == "avaya":
            assert r.peer.requests[-1] == "StopApplicationSession"
    finally:
        await r.stop()


async def test_commands_while_the_switch_is_unreachable_say_platform_down() -> None:
    r = await make_rig("openscape")
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        mark = r.mark()
        await r.peer.stop()  # the switch goes away and stays away
        await r.wait(PlatformStatus, lambda e: not e.up, after=mark)
        with pytest.raises(PlatformError) as err:
            await r.connector.make_call("2001", "0140000000")
        assert err.value.code == "platform-down"
    finally:
        await r.stop()


async def test_a_device_we_do_not_monitor_is_refused_before_the_switch_is_asked(rig: Rig) -> None:
    with pytest.raises(PlatformError) as err:
        await rig.connector.make_call("4999", "0140000000")
    assert err.value.code == "unknown-device"
    assert "MakeCall" not in rig.switch.requests


async def test_avaya_not_ready_reason_travels_as_an_aux_reason_code() -> None:
    r = await make_rig("avaya", reason_codes={"break": 2, "lunch": 3})
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        await r.connector.set_agent_state("2001", AgentStatus.NOT_READY, "lunch")
        assert r.peer.reason_codes["2001"] == "3"
        assert await r.connector.get_agent_state("2001") == (AgentStatus.NOT_READY, "lunch")
    finally:
        await r.stop()


async def test_a_switch_without_snapshot_call_resyncs_from_the_device_snapshots() -> None:
    r = await make_rig("openscape")
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        r.switch.inbound_call("0612345678", "2001")
        ref = (await r.wait(CallOffered)).ref
        await r.connector.answer(ref, "2001")
        mark = r.mark()
        r.switch.unsupported.add("SnapshotCall")
        await r.peer.drop_links()
        resync = await r.wait(PlatformResynced, after=mark)
        assert [(s.ref, s.devices) for s in resync.calls] == [(ref, {"2001": "connected"})]
    finally:
        await r.stop()


async def test_dmcc_keepalive_follows_the_session_duration_the_server_granted() -> None:
    r = await make_rig("avaya", session_duration=40)
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        # Asked for 180 s (the default), granted 40 s: reset before half of it is gone.
        assert r.connector.dialect.keepalive_interval == 20
    finally:
        await r.stop()


@pytest.mark.parametrize("vendor", ["avaya", "openscape"])
async def test_a_device_the_switch_will_not_monitor_is_reported_and_the_rest_work(
        vendor: str) -> None:
    r = await make_rig(vendor, devices=["2001", "2999", "2002"])
    try:
        up = await r.wait(PlatformStatus, lambda e: e.up)
        assert "2999 (operation/invalidDeviceID)" in up.detail
        assert set(await r.connector.monitored()) == {"2001", "2002"}
        with pytest.raises(PlatformError) as err:
            await r.connector.make_call("2999", "0140000000")
        assert err.value.code == "unknown-device" and "refused" in err.value.message
        r.switch.inbound_call("0612345678", "2002")
        await r.wait(CallOffered, lambda e: e.device == "2002")
    finally:
        await r.stop()


async def test_what_the_connector_writes_has_the_shape_of_the_real_requests() -> None:
    """Our requests against the OpenScape request samples: their elements, their order."""
    from xml.etree.ElementTree import fromstring

    from tests.needs import shared_fixtures

    root = shared_fixtures() / "peers" / "csta" / "pyssimist"
    r = await make_rig("openscape", heartbeat=0.05)
    try:
        await r.wait(PlatformStatus, lambda e: e.up)
        r.switch.inbound_call("0612345678", "2001")
        ref = (await r.wait(CallOffered)).ref
        await r.connector.hangup(ref, "2001")
        await r.connector.make_call("2002", "0140000000")
        await r.until(lambda: "SystemStatus" in r.peer.requests)
    finally:
        await r.stop()

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    checked = set()
    for raw in r.peer.raw_requests:
        ours = fromstring(raw)
        name = local(ours.tag)
        sample_path = root / f"{name}.xml"
        if not sample_path.exists():
            continue
        theirs = fromstring(sample_path.read_bytes())
        mine, real = [local(c.tag) for c in ours], [local(c.tag) for c in theirs]
        it = iter(real)
        assert all(any(x == y for y in it) for x in mine), (name, mine, real)
        for child in ours:
            inner = {local(g.tag) for g in child}
            inner_real = {local(g.tag) for c in theirs if local(c.tag) == local(child.tag)
                          for g in c}
            assert inner <= inner_real | {"callID"}, (name, child.tag, inner, inner_real)
        checked.add(name)
    assert checked == {"MonitorStart", "SnapshotDevice", "ClearConnection", "MakeCall",
                       "SystemStatus"}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    import subprocess

    from tests.needs import unavailable

    d = tmp_path_factory.mktemp("tls")
    key, cert = d / "key.pem", d / "cert.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        unavailable("openssl is not available to make a test certificate")
    return str(key), str(cert)


@pytest.mark.parametrize("verified", [True, False])
async def test_dmcc_over_tls_verifies_the_server(certificate: tuple[str, str],
                                                 verified: bool) -> None:
    import ssl

    key, cert = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    extra = {"tls_ca": cert} if verified else {}
    r = await make_rig("avaya", ssl_context=server_ctx, tls=True, **extra)
    try:
        status = await r.wait(PlatformStatus)
        if verified:
            assert status.up
        else:
            assert not status.up and "CERTIFICATE_VERIFY_FAILED" in status.detail
    finally:
        await r.stop()
