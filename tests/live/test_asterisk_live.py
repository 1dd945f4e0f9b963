"""Every issue-12 scenario, through the hub, against the real lab Asterisk.

Alice is extension 6001 and Bob 6002; their "phones" are Local channels that
ring 2 s and answer (or ring until the lab answers them, in "manual" mode).
A customer is a Local channel into the from-pstn dialplan: IVR data, then the
queue `support`. See scripts/lab/asterisk/README.md.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ctibridge.cli import app
from ctibridge.telephony.asterisk.config import AsteriskOptions

from .common import JEAN, T, channels_gone, consult_answered, mine, next_event
from .conftest import LAB_DIR, Live, live_hub, options, target

IVR = {"CUSTOMER_ID": "C-1042", "ACCOUNT": "ACME-77", "IVR_CHOICE": "support"}


async def run(*argv: str, timeout: float = 120) -> tuple[int, str]:
    """A lab script, without blocking the loop the hub runs in."""
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(errors="replace")


async def answered_call(live: Live, bar: Any, *, hangup_after: float = 600) -> tuple[Any, str]:
    """A customer calls; the agent's handset rings and answers. (customer, call_id)"""
    cust = await live.lab.customer_call(hangup_after=hangup_after)
    offered = await bar.event("call.offered", timeout=T)
    call_id = offered["call"]["call_id"]
    await bar.event("call.answered", timeout=T, where=mine(call_id))
    return cust, call_id


def end_cause(live: Live, call_id: str) -> str | None:
    call = live.h.hub.calls.get(call_id)
    return call.end_cause if call is not None else None


# ----------------------------------------------------------------- agents


async def test_login_ready_not_ready_with_reason_and_logout_move_the_queue_member(
    tmp_path: Path,
) -> None:
    async with live_hub(tmp_path, "live-01-agent-states") as live:
        alice = await live.h.agent("alice")
        await alice.ok("agent.login")
        (m,) = [m for m in await live.lab.members() if m["Location"] == "Local/6001@agents"]
        assert (m["Queue"], m["Paused"]) == ("support", "1")  # logged in, not ready yet
        await alice.ok("agent.ready")
        (m,) = [m for m in await live.lab.members() if m["Location"] == "Local/6001@agents"]
        assert m["Paused"] == "0"
        await alice.ok("agent.not_ready", reason="lunch")
        (m,) = [m for m in await live.lab.members() if m["Location"] == "Local/6001@agents"]
        assert m["Paused"] == "1" and m["PausedReason"] == "lunch"
        # A pause made on Asterisk's side (a feature code, the CLI) reaches the bar.
        await alice.ok("agent.ready")
        start = len(alice.frames)
        await live.lab.action("QueuePause", Queue="support", Interface="Local/6001@agents",
                              Paused="true", Reason="training")
        state = await next_event(alice, "agent.state", start,
                                 where=lambda d: d["agent"]["state"]["status"] == "not_ready")
        assert state["agent"]["state"]["reason"] == "training"
        await alice.ok("agent.logout")
        assert not [m for m in await live.lab.members()
                    if m["Location"] == "Local/6001@agents"]


# ---------------------------------------------------------- inbound calls


async def test_a_queue_call_with_ivr_data_is_offered_answered_and_ended_by_the_customer(
    tmp_path: Path,
) -> None:
    async with live_hub(tmp_path, "live-02-inbound-answered") as live:
        alice = await live.agent("alice")
        cust = await live.lab.customer_call()
        offered = await alice.event("call.offered", timeout=T)
        call = offered["call"]
        assert call["customer"] == JEAN
        assert call["attached"] == IVR and call["queue"] == "support"
        assert alice.my_state(call) == "alerting"
        answered = await alice.event("call.answered", timeout=T, where=mine(call["call_id"]))
        assert alice.my_state(answered["call"]) == "connected"
        start = len(alice.frames)
        await live.lab.hangup(cust.channel)
        ended = await alice.event("call.ended", timeout=T, where=mine(call["call_id"]))
        assert ended["cause"] == "customer-hangup"
        assert await channels_gone(live.lab) == []
        await next_event(alice, "agent.state", start,
                         where=lambda d: d["agent"]["state"]["status"] == "ready")


async def test_a_caller_who_hangs_up_in_the_queue_is_an_abandoned_call(tmp_path: Path) -> None:
    async with live_hub(tmp_path, "live-03-abandoned") as live:
        await live.agent("alice", ready=False)  # logged in, paused: nobody takes the call
        cust = await live.lab.customer_call(hangup_after=3)
        call = None
        for _ in range(int(T / 0.2)):
            call = live.h.hub.calls.by_ref("pbx", cust.uniqueid)
            if call is not None and call.ended:
                break
            await asyncio.sleep(0.2)
        assert call is not None, "the queued call never reached the hub"
        assert call.ended and call.end_cause == "abandoned"
        assert call.customer.number == JEAN["number"]


async def test_rejecting_a_ringing_call_does_not_get_it_offered_again_at_once(
    tmp_path: Path,
) -> None:
    async with live_hub(tmp_path, "live-04-reject-ringing") as live:
        alice = await live.agent("alice")
        await live.lab.set_ring("6001", "manual")
        await live.lab.customer_call(hangup_after=30)
        offered = await alice.event("call.offered", timeout=T)
        call_id = offered["call"]["call_id"]
        await alice.ok("call.hangup", call_id=call_id)  # the agent rejects it
        left = await alice.event("call.updated", timeout=T,
                                 where=lambda d: mine(call_id)(d) and bool(d.get("cause")))
        assert left["cause"] == "rejected"
        start = len(alice.frames)
        await asyncio.sleep(6)  # the queue retries after 2 s
        again = [f for f in alice.frames[start:] if f.get("name") == "call.offered"]
        assert again == [], "the queue offered the rejected call to the same agent again"


# ------------------------------------------------------------- transfers


async def test_blind_transfer_then_the_customer_hangs_up_is_a_customer_hangup(
    tmp_path: Path,
) -> None:
    async with live_hub(tmp_path, "live-05-blind-transfer") as live:
        alice = await live.agent("alice")
        cust, call_id = await answered_call(live, alice)
        bob = await live.agent("bob")
        await alice.ok("call.blind_transfer", call_id=call_id, target="bob")
        offered = await bob.event("call.offered", timeout=T)
        assert offered["call"]["customer"] == JEAN
        bob_call = offered["call"]["call_id"]
        await bob.event("call.answered", timeout=T, where=mine(bob_call))
        moved = await alice.event("call.transferred", timeout=T, where=mine(call_id))
        assert alice.my_state(moved["call"]) == "ended"
        await live.lab.hangup(cust.channel)
        ended = await bob.event("call.ended", timeout=T, where=mine(bob_call))
        assert ended["cause"] == "customer-hangup"
        assert end_cause(live, bob_call) == "customer-hangup"
        assert await channels_gone(live.lab) == []


async def test_after_a_blind_transfer_the_transferring_agent_hears_nothing_more(
    tmp_path: Path,
) -> None:
    async with live_hub(tmp_path, "live-06-blind-transfer-quiet") as live:
        alice = await live.agent("alice")
        cust, call_id = await answered_call(live, alice)
        bob = await live.agent("bob")
        await alice.ok("call.blind_transfer", call_id=call_id, target="bob")
        await alice.event("call.transferred", timeout=T, where=mine(call_id))
        after = len(alice.frames)  # Alice is out of the call from here on
        bob_call = (await bob.event("call.answered", timeout=T))["call"]["call_id"]
        await live.lab.hangup(cust.channel)
        await bob.event("call.ended", timeout=T, where=mine(bob_call))
        await asyncio.sleep(1)
        late = [f["name"] for f in alice.frames[after:] if f.get("type") == "event"
                and f["name"].startswith("call.")]
        assert late == [], f"alice still gets the transferred call's events: {late}"


async def test_attended_transfer_completed_then_the_customer_hangs_up(tmp_path: Path) -> None:
    async with live_hub(tmp_path, "live-07-attended-transfer") as live:
        alice = await live.agent("alice")
        cust, call_id = await answered_call(live, alice)
        bob = await live.agent("bob")
        consult_id = await consult_answered(alice, bob, call_id)
        await alice.ok("call.complete_transfer", call_id=call_id, consult_call_id=consult_id)
        transferred = await bob.event("call.transferred", timeout=T)
        assert transferred["call"]["customer"] == JEAN
        bob_call = transferred["call"]["call_id"]
        assert bob.my_state(transferred["call"]) == "connected"
        await live.lab.hangup(cust.channel)
        ended = await bob.event("call.ended", timeout=T, where=mine(bob_call))
        assert ended["cause"] == "customer-hangup"
        assert await channels_gone(live.lab) == []


async def test_a_consultation_is_answered_once(tmp_path: Path) -> None:
    async with live_hub(tmp_path, "live-08-consult-answered-once") as live:
        alice = await live.agent("alice")
        cust, call_id = await answered_call(live, alice)
        bob = await live.agent("bob")
        start = len(alice.frames)
        consult_id = await consult_answered(alice, bob, call_id)
        await asyncio.sleep(1.5)
        answered = [f for f in alice.frames[start:] if f.get("name") == "call.answered"
                    and f["data"]["call"]["call_id"] == consult_id]
        assert len(answered) == 1, f"call.answered came {len(answered)} times"
        await live.lab.hangup(cust.channel)


async def test_cancelling_a_consultation_returns_to_the_customer(tmp_path: Path) -> None:
    async with live_hub(tmp_path, "live-09-cancel-consult") as live:
        alice = await live.agent("alice")
        cust, call_id = await answered_call(live, alice)
        bob = await live.agent("bob")
        consult_id = await consult_answered(alice, bob, call_id)
        reply = await alice.command("call.cancel_consult", call_id=call_id,
                                    consult_call_id=consult_id)
        assert reply["type"] == "ack", reply
        await bob.event("call.ended", timeout=T, where=mine(consult_id))
        back = await alice.wait_for(
            lambda f: f.get("type") == "event" and f["data"].get("call", {}).get("call_id")
            == call_id and alice.my_state(f["data"]["call"]) == "connected",
            "alice connected to the customer again", timeout=T)
        assert back
        # On Asterisk: the customer is still up, bridged with Alice; Bob's legs are gone.
        chans = await live.lab.channels()
        assert any(c["Uniqueid"] == cust.uniqueid for c in chans)
        assert not [c for c in chans if "6002" in c["Channel"]]
        await live.lab.hangup(cust.channel)
        ended = await alice.event("call.ended", timeout=T, where=mine(call_id))
        assert ended["cause"] == "customer-hangup"


async def test_hanging_up_a_consultation_never_transfers_the_customer(tmp_path: Path) -> None:
    async with live_hub(tmp_path, "live-10-hangup-consult") as live:
        alice = await live.agent("alice")
        cust, call_id = await answered_call(live, alice)
        bob = await live.agent("bob")
        consult_id = await consult_answered(alice, bob, call_id)
        await alice.ok("call.hangup", call_id=consult_id)
        await bob.event("call.ended", timeout=T, where=mine(consult_id))
        await asyncio.sleep(2)
        # The customer did not go to Bob: Bob has no call with them, and they are still up.
        bob_calls = [c for c in live.h.hub.calls_of("bob") if not c.ended]
        assert bob_calls == [], "the customer was transferred to bob"
        chans = await live.lab.channels()
        assert any(c["Uniqueid"] == cust.uniqueid for c in chans), "the customer was cut off"
        call = live.h.hub.calls.get(call_id)
        assert call is not None and not call.ended
        assert call.connection("6001") is not None
        assert str(call.connection("6001").state) in ("held", "connected")
        await live.lab.hangup(cust.channel)


async def test_a_customer_hanging_up_during_a_consultation_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    async with live_hub(tmp_path, "live-11-customer-gone-during-consult") as live:
        alice = await live.agent("alice")
        cust, call_id = await answered_call(live, alice)
        bob = await live.agent("bob")
        consult_id = await consult_answered(alice, bob, call_id)
        await live.lab.hangup(cust.channel)
        ended = await alice.event("call.ended", timeout=T, where=mine(call_id))
        assert ended["cause"] == "customer-hangup"
        await asyncio.sleep(3)
        left = await live.lab.channels()
        open_calls = [c for c in live.h.hub.calls_of("alice") if not c.ended]
        if left:
            # Legs may stay up (Alice and Bob still talking), but then the bar shows
            # it and can end it.
            assert open_calls, (f"the bars show nothing while Asterisk still has "
                                f"{len(left)} channels up")
            await alice.ok("call.hangup", call_id=open_calls[0].call_id)
            assert await channels_gone(live.lab) == []
        else:
            assert open_calls == [], "the bar shows a call Asterisk no longer has"
        assert consult_id


# --------------------------------------------------- hold, answer, conference


@pytest.mark.parametrize("ari", [False, True], ids=["ami", "ari"])
async def test_hold_and_retrieve_a_queue_call(tmp_path: Path, ari: bool) -> None:
    async with live_hub(tmp_path, f"live-12-hold-{'ari' if ari else 'ami'}", ari=ari) as live:
        alice = await live.agent("alice")
        cust, call_id = await answered_call(live, alice)
        moh = live.lab.expect(lambda m: m.get("Event") == "MusicOnHoldStart")
        reply = await alice.command("call.hold", call_id=call_id)
        assert reply["type"] == "ack", reply
        await alice.event("call.held", timeout=T, where=mine(call_id))
        await asyncio.wait_for(moh, T)  # the customer hears music
        reply = await alice.command("call.retrieve", call_id=call_id)
        assert reply["type"] == "ack", reply
        retrieved = await alice.event("call.retrieved", timeout=T, where=mine(call_id))
        assert alice.my_state(retrieved["call"]) == "connected"
        await live.lab.hangup(cust.channel)
        ended = await alice.event("call.ended", timeout=T, where=mine(call_id))
        assert ended["cause"] == "customer-hangup"
        assert await channels_gone(live.lab) == []


@pytest.mark.parametrize("ari", [False, True], ids=["ami", "ari"])
async def test_answer_a_ringing_queue_call_from_the_bar(tmp_path: Path, ari: bool) -> None:
    async with live_hub(tmp_path, f"live-13-answer-{'ari' if ari else 'ami'}", ari=ari) as live:
        alice = await live.agent("alice")
        await live.lab.set_ring("6001", "manual")  # nobody picks up the handset
        cust = await live.lab.customer_call(hangup_after=60)
        offered = await alice.event("call.offered", timeout=T)
        call_id = offered["call"]["call_id"]
        reply = await alice.command("call.answer", call_id=call_id)
        if alice.snapshot["capabilities"]["call.answer"]:
            assert reply["type"] == "ack", reply
        else:
            # A Local-channel handset cannot be answered from afar (no PJSIP
            # auto-answer; its ringing leg is not in Stasis): the button is off and
            # the op says so, then the agent picks up the handset.
            assert reply["type"] == "error" and reply["code"] == "capability-missing", reply
            await live.lab.answer("6001")
        await alice.event("call.answered", timeout=T, where=mine(call_id))
        await live.lab.hangup(cust.channel)
        await alice.event("call.ended", timeout=T, where=mine(call_id))


@pytest.mark.parametrize("ari", [False, True], ids=["ami", "ari"])
async def test_a_three_way_conference_from_a_consultation(tmp_path: Path, ari: bool) -> None:
    name = f"live-14-conference-{'ari' if ari else 'ami'}"
    async with live_hub(tmp_path, name, ari=ari) as live:
        alice = await live.agent("alice")
        cust, call_id = await answered_call(live, alice)
        bob = await live.agent("bob")
        consult_id = await consult_answered(alice, bob, call_id)
        reply = await alice.command("call.conference", call_id=call_id,
                                    consult_call_id=consult_id)
        assert reply["type"] == "ack", reply
        conf = await alice.event("call.conferenced", timeout=T)
        states = {c["device"]: c["state"] for c in conf["call"]["connections"]}
        assert states.get("6001") == "connected" and states.get("6002") == "connected"
        await live.lab.hangup(cust.channel)
        await asyncio.sleep(2)
        for bar in (alice, bob):
            for c in [c for c in live.h.hub.calls_of(bar.user) if not c.ended]:
                await bar.ok("call.hangup", call_id=c.call_id)
        assert await channels_gone(live.lab) == []
        bridges = await live.lab.list_action("BridgeList")
        assert bridges == [], f"bridges left behind: {bridges}"


# -------------------------------------------------------------- outbound


async def test_click_to_call_rings_the_agent_then_dials_out_with_the_attached_data(
    tmp_path: Path,
) -> None:
    async with live_hub(tmp_path, "live-15-click-to-call") as live:
        alice = await live.agent("alice")
        reply = await alice.ok("call.dial", number="0987654321", attached={"TICKET": "T-77"})
        call_id = reply["call_id"]
        answered = await alice.event("call.answered", timeout=T, where=mine(call_id))
        assert answered["call"]["customer"]["number"] == "+33987654321"
        assert answered["call"]["attached"].get("TICKET") == "T-77"
        await alice.ok("call.hangup", call_id=call_id)
        ended = await alice.event("call.ended", timeout=T, where=mine(call_id))
        assert ended["cause"] == "agent-hangup"
        assert await channels_gone(live.lab) == []


async def test_a_call_whose_hangup_never_arrives_is_ended_by_reconciliation(
    tmp_path: Path,
) -> None:
    t = target()
    # A short reconciliation period where the connector has one (the default is
    # a minute, and a call is only ended after two passes that miss it).
    fast = {"reconcile_interval": 5} if "reconcile_interval" in AsteriskOptions.model_fields \
        else {}
    async with LossyAmi(t.host, t.ami_port) as lossy, \
            live_hub(tmp_path, "live-16-lost-hangup", upstream=lossy.port, **fast) as live:
        alice = await live.agent("alice")
        reply = await alice.ok("call.dial", number="0987654321")
        call_id = reply["call_id"]
        await alice.event("call.answered", timeout=T, where=mine(call_id))
        lossy.drop = {b"Hangup", b"HangupRequest", b"SoftHangupRequest"}
        start = len(alice.frames)
        for c in await live.lab.channels():  # the far end and the agent hang up
            await live.lab.hangup(c["Channel"])
        assert await channels_gone(live.lab) == []
        ended = await alice.event("call.ended", timeout=90, where=mine(call_id))
        assert ended["call"]["call_id"] == call_id
        await next_event(alice, "agent.state", start,
                         where=lambda d: d["agent"]["state"]["status"] == "ready")


# ------------------------------------------------------ the link itself


def test_telephony_test_checks_ari_credentials(tmp_path: Path) -> None:
    t = target()
    cfg = tmp_path / "bad-ari.yaml"
    opts = options(t).model_dump(mode="json", exclude_none=True)
    opts["ari"]["password"] = "wrong-password"
    import yaml

    cfg.write_text(yaml.safe_dump({
        "telephony": [{"name": "pbx", "type": "asterisk", "options": opts}],
        "agents": [{"id": "alice", "name": "Alice", "extension": "6001", "platform": "pbx"}]}))
    r = CliRunner().invoke(app, ["telephony", "test", "-c", str(cfg), "--seconds", "1"])
    assert r.exit_code != 0, r.output
    assert "ARI" in r.output


async def test_an_asterisk_restart_keeps_the_agents_and_the_link_is_back_within_5_s(
    tmp_path: Path,
) -> None:
    t = target()
    if t.run is None or t.prefix is None:
        pytest.skip("restarting needs the lab's run folder in CTIBRIDGE_LIVE_ASTERISK")
    async with live_hub(tmp_path, "live-17-restart") as live:
        alice = await live.agent("alice")
        bob = await live.agent("bob", ready=False)
        await bob.ok("agent.not_ready", reason="lunch")
        await live.lab.close()
        start = len(alice.frames)
        code, out = await run("bash", str(LAB_DIR / "stop.sh"), str(t.run))
        assert code == 0, out
        await next_event(alice, "platform.status", start, where=lambda d: not d["up"])
        await asyncio.sleep(20)  # long enough for a back-off to grow
        code, out = await run("bash", str(LAB_DIR / "start.sh"), "--prefix", str(t.prefix),
                              "--run", str(t.run), "--ami-port", str(t.ami_port),
                              "--http-port", str(t.http_port))
        assert code == 0, out
        ami_up = time.monotonic()
        await next_event(alice, "platform.status", start, timeout=30, where=lambda d: d["up"])
        back_in = time.monotonic() - ami_up
        await live.lab.connect()
        members = {m["Location"]: m for m in await live.lab.members()}
        assert set(members) == {"Local/6001@agents", "Local/6002@agents"}, members
        assert members["Local/6001@agents"]["Paused"] == "0"
        assert members["Local/6002@agents"]["PausedReason"] == "lunch"
        await asyncio.sleep(1)
        hub = live.h.hub
        assert hub.agents["alice"].state.status.value == "ready"
        assert (hub.agents["bob"].state.status.value, hub.agents["bob"].state.reason) == (
            "not_ready", "lunch")
        assert back_in <= 5.0, f"the link came back {back_in:.1f} s after AMI was up"


class LossyAmi:
    """A TCP relay to the AMI that drops the server's events named in ``drop``
    (a lost Hangup, as a bug or a filter would lose it)."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.drop: set[bytes] = set()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> LossyAmi:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for t in list(self._tasks):
            t.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        u_reader, u_writer = await asyncio.open_connection(*self.upstream)

        async def up() -> None:
            while data := await reader.read(65536):
                u_writer.write(data)
                await u_writer.drain()

        async def down() -> None:
            buf, banner = b"", False
            while data := await u_reader.read(65536):
                buf += data
                out = []
                if not banner:  # one line, no blank line after it
                    nl = buf.find(b"\r\n")
                    if nl < 0:
                        continue
                    out.append(buf[:nl + 2])
                    buf, banner = buf[nl + 2:], True
                while (end := buf.find(b"\r\n\r\n")) >= 0:
                    msg, buf = buf[:end + 4], buf[end + 4:]
                    first = msg.split(b"\r\n", 1)[0]
                    if first.startswith(b"Event: ") and first[7:] in self.drop:
                        continue
                    out.append(msg)
                writer.write(b"".join(out))
                await writer.drain()

        tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
        self._tasks.update(tasks)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            writer.close()
            u_writer.close()
