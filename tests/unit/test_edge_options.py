"""The hybrid edge's configuration: the site's `edge` section and the cloud's `edge`
platform options are checked before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctibridge.cli import app
from ctibridge.config import Settings
from ctibridge.edge.connector import EdgeConnector
from ctibridge.model.errors import ConfigError
from ctibridge.telephony import registry
from ctibridge.telephony.base import Capability

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_site_configuration_loads() -> None:
    settings = Settings.load(ROOT / "examples/edge.yaml")
    assert settings.edge is not None
    assert (settings.edge.edge_id, settings.edge.domain) == ("paris", "paris")


def test_an_edge_section_needs_an_id_and_a_domain() -> None:
    with pytest.raises(ConfigError) as bad:
        Settings.load(None, edge={"nats_url": "nats://127.0.0.1:4222"})
    assert "edge.edge_id" in bad.value.message and "edge.domain" in bad.value.message


def test_the_edge_platform_is_an_installed_connector_type() -> None:
    assert "edge" in registry.available()
    result = CliRunner().invoke(app, ["config", "check", str(ROOT / "examples/edge.yaml")])
    assert result.exit_code == 0, result.output


def test_the_edge_platforms_options_are_checked_by_name() -> None:
    with pytest.raises(ConfigError) as bad:
        EdgeConnector.validate_options("pbx-paris", {"edge_id": "paris 1", "colour": "red"})
    message = bad.value.message
    assert message.startswith("telephony 'pbx-paris' (edge):")
    assert "edge_id" in message and "domain" in message and "colour" in message


def test_until_the_edge_speaks_the_bar_offers_what_the_options_say() -> None:
    from ctibridge.clock import FakeClock

    link = EdgeConnector.from_options("pbx", {"edge_id": "paris", "domain": "paris"},
                                      FakeClock())
    assert Capability.ROUTE not in link.capabilities and Capability.HOLD in link.capabilities
    assert not link.health().up and "edge paris not heard from" in link.health().detail
    only = EdgeConnector.from_options("pbx", {"edge_id": "paris", "domain": "paris",
                                              "capabilities": ["answer", "hangup"]},
                                      FakeClock())
    assert only.capabilities == {Capability.ANSWER, Capability.HANGUP}
