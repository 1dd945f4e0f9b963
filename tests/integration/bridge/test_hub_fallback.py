"""The hub alone (no omnichannel service) still bridges two voice platforms.

``Hub.tell_platform`` falls back to per-platform voice directives when the
omnichannel service is absent (a hub embedded without the app, or tools):
busy on one platform is "busy-elsewhere" on the others, and a state a
platform reports is applied once and passed on, never told back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ctibridge.clock import FakeClock
from ctibridge.config import Settings
from ctibridge.core.hub import Hub
from ctibridge.model.agent import AgentStatus
from tests.integration.bridge.test_bridge import BOTH, CUSTOMER, RecordingSim, settle, until

READY, NOT_READY = AgentStatus.READY, AgentStatus.NOT_READY


@pytest.fixture
async def bridge() -> AsyncIterator[tuple[Hub, RecordingSim, RecordingSim, FakeClock]]:
    clock = FakeClock()
    cc1 = RecordingSim("cc1", clock=clock, seed=1, devices=["1001", "1002"], queues=["support"])
    cc2 = RecordingSim("cc2", clock=clock, seed=2, devices=["2001", "2002", "2003"],
                       queues=["sales"])
    settings = Settings.load(None, telephony=[{"name": "cc1", "type": "simulator"},
                                              {"name": "cc2", "type": "simulator"}],
                             agents=BOTH, wrap_up_seconds=10)
    hub = Hub(settings, {"cc1": cc1, "cc2": cc2}, clock=clock)
    assert hub.omnichannel is None
    await hub.start()
    yield hub, cc1, cc2, clock
    await hub.stop()


async def test_without_the_omnichannel_service_a_call_on_cc1_pauses_cc2_until_wrap_up_ends(
        bridge: tuple[Hub, RecordingSim, RecordingSim, FakeClock]) -> None:
    hub, cc1, cc2, clock = bridge
    alice = hub.agents["alice"]
    assert hub.agent_at("cc2", "2001") is alice and hub.agent_at("cc1", "1001") is alice
    hub.set_state(alice, NOT_READY, reason="login")
    hub.set_state(alice, READY)
    hub.tell_platform(alice)
    await until(lambda: cc1.state_of("1001") == cc2.state_of("2001") == (READY, None),
                "ready on both")
    n2 = len(cc2.pushes)

    ref = cc1.customer_calls("support", number=CUSTOMER)
    await until(lambda: cc2.state_of("2001") == (NOT_READY, "busy-elsewhere"), "paused on cc2")
    await cc1.answer(ref, "1001")
    cc1.customer_hangs_up(ref)
    await until(lambda: cc2.state_of("2001") == (NOT_READY, "wrap-up"), "wrap-up on cc2")
    await clock.advance(10)
    await until(lambda: cc2.state_of("2001") == (READY, None), "free again on cc2")
    await settle()
    assert cc1.state_of("1001") == (READY, None)
    assert not cc1.device_state("1001").after_call  # cc1 was told ready again after the call
    assert cc2.pushes_to("2001", n2) == [
        (NOT_READY, "busy-elsewhere"), (NOT_READY, "wrap-up"), (READY, None)]


async def test_without_the_omnichannel_service_a_feature_code_is_passed_on_once(
        bridge: tuple[Hub, RecordingSim, RecordingSim, FakeClock]) -> None:
    hub, cc1, cc2, _ = bridge
    bob = hub.agents["bob"]
    hub.set_state(bob, NOT_READY, reason="login")
    hub.set_state(bob, READY)
    hub.tell_platform(bob)
    await until(lambda: cc1.state_of("1002") == cc2.state_of("2002") == (READY, None), "ready")
    await settle()
    n1, n2 = len(cc1.pushes), len(cc2.pushes)
    cc1.agent_changes_state_elsewhere("1002", NOT_READY, "lunch")
    await until(lambda: cc2.state_of("2002") == (NOT_READY, "lunch"), "lunch on cc2")
    await settle()
    assert (bob.state.status, bob.state.reason) == (NOT_READY, "lunch")
    assert cc2.pushes[n2:] == [("2002", NOT_READY, "lunch")]
    assert cc1.pushes[n1:] == []
