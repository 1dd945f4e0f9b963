"""The generic webhook platform, the registry and the digital settings."""

from __future__ import annotations

import pytest

from ctibridge.clock import FakeClock
from ctibridge.config import DigitalSettings, Settings
from ctibridge.digital import registry
from ctibridge.digital.base import DigitalCapability, DigitalConnector, IntakeSink
from ctibridge.digital.intake import parse_intake
from ctibridge.digital.simulator import DigitalSimulator
from ctibridge.digital.webhook_connector import WebhookConnector
from ctibridge.model.errors import CapabilityMissing, ConfigError
from ctibridge.model.events import InteractionArrived
from ctibridge.model.party import Channel

SMS = {"channel": "sms", "message_id": "s1", "sender": {"number": "+33612345678"},
       "body": "Rappelez-moi"}


def test_connectors_are_found_by_entry_point_and_built_from_settings() -> None:
    assert {"webhook", "simulator"} <= set(registry.available())
    clock = FakeClock()
    web = registry.build(DigitalSettings(name="web", type="webhook",
                                         options={"channels": ["sms"]}), clock)
    assert isinstance(web, WebhookConnector) and isinstance(web, DigitalConnector)
    assert isinstance(web, IntakeSink) and web.channels == {Channel.SMS}
    sim = registry.build(DigitalSettings(name="digisim", type="simulator",
                                         options={"per_minute": 0}), clock)
    assert isinstance(sim, DigitalSimulator) and sim.per_minute == 0


def test_an_unknown_type_names_the_installed_ones() -> None:
    with pytest.raises(ConfigError) as err:
        registry.build(DigitalSettings(name="x", type="carrier-pigeon"), FakeClock())
    assert "unknown type 'carrier-pigeon'; installed:" in err.value.message
    assert "simulator" in err.value.message and "webhook" in err.value.message


def test_bad_webhook_options_are_named() -> None:
    with pytest.raises(ConfigError) as err:
        WebhookConnector.from_options("web", {"channels": ["fax"], "colour": 1}, FakeClock())
    assert "options.channels: must be a non-empty list among chat, email, sms, social" in \
        err.value.message
    assert "options.colour: unknown option" in err.value.message


def test_the_webhook_secret_comes_from_the_named_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("H6_WEB_SECRET", "a-secret-from-the-env-123")
    spec = DigitalSettings(name="web", type="webhook", secret_env="H6_WEB_SECRET")
    assert spec.secret is not None
    assert spec.secret.get_secret_value() == "a-secret-from-the-env-123"
    assert "a-secret" not in repr(spec)  # never printed
    with pytest.raises(ConfigError) as err:
        Settings.load(None, digital=[{"name": "web", "type": "webhook",
                                      "secret_env": "H6_NOT_SET"}])
    assert "digital.0" in err.value.message
    assert "environment variable H6_NOT_SET, which is not set" in err.value.message
    with pytest.raises(ConfigError) as err:
        Settings.load(None, digital=[{"name": "web", "type": "webhook", "secret": "short"}])
    assert "at least 16 characters" in err.value.message


async def test_a_taken_message_arrives_in_the_default_queue_and_commands_are_reflected(
) -> None:
    clock = FakeClock()
    web = WebhookConnector("web", clock=clock, queue="support")
    web.take(parse_intake(SMS), "i1", new=True)
    await web.accept("i1", "alice")
    with pytest.raises(CapabilityMissing):
        await web.reply("i1", "alice", "ok")
    assert DigitalCapability.REPLY not in web.capabilities
    await web.stop()
    events = [e async for e in web.events()]
    assert isinstance(events[0], InteractionArrived) and events[0].queue == "support"
    assert [e.name for e in events] == ["interaction.arrived", "interaction.accepted"]
