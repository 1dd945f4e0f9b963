"""Stations: which phone and which system an agent works on, from what they typed or where
they connect from; and the configuration that says so is checked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ctibridge.config import Settings
from ctibridge.core.stations import Placement, Stations
from ctibridge.model.agent import Agent, AgentState, AgentStatus
from ctibridge.model.errors import BadRequest, ConfigError

TELEPHONY = [{"name": "paris", "type": "simulator"}, {"name": "lyon", "type": "simulator"}]
AGENTS = [{"id": "carol", "name": "Carol", "extension": "2003", "platform": "paris",
           "devices": {"lyon": "5003"}},
          {"id": "alice", "name": "Alice", "extension": "2001", "platform": "paris"}]
STATIONS = [{"extension": "2001", "platform": "paris"}, {"extension": "5001", "platform": "lyon"},
            {"extension": "7000", "platform": "paris"}, {"extension": "7000", "platform": "lyon"}]
SITES = [{"name": "Lyon", "platform": "lyon", "subnets": ["10.20.0.0/16"]},
         {"name": "Paris", "platform": "paris", "subnets": ["10.10.0.0/16", "2001:db8::/32"]}]


def settings(**kw: Any) -> Settings:
    return Settings.load(None, **{"telephony": TELEPHONY, "agents": AGENTS,
                                  "stations": STATIONS, "sites": SITES, **kw})


def agent(agent_id: str = "carol") -> Agent:
    conf = next(a for a in AGENTS if a["id"] == agent_id)
    return Agent(agent_id=agent_id, name=str(conf["name"]), extension=str(conf["extension"]),
                 platform=str(conf["platform"]), devices=dict(conf.get("devices", {})),
                 state=AgentState(AgentStatus.LOGGED_OUT, datetime(2026, 1, 5, tzinfo=UTC)))


@pytest.mark.parametrize("station, address, expected", [
    ("5001", None, Placement("lyon", "5001", "station")),
    ("5001", "10.10.1.2", Placement("lyon", "5001", "station", "Paris")),
    ("7000", "10.20.3.4", Placement("lyon", "7000", "station", "Lyon")),  # two systems: site says
    ("7000", "2001:db8::5", Placement("paris", "7000", "station", "Paris")),
    ("5999", "10.20.3.4", Placement("lyon", "5999", "station", "Lyon")),  # unlisted, on-site
    (None, "10.20.3.4", Placement("lyon", "5003", "site", "Lyon")),  # carol's Lyon phone
    (None, "192.0.2.1", Placement("paris", "2003", "configured")),
    (None, "unknown", Placement("paris", "2003", "configured")),
])
def test_the_station_comes_from_what_was_typed_then_the_site_then_the_configuration(
        station: str | None, address: str | None, expected: Placement) -> None:
    assert Stations(settings()).resolve(agent(), station, address) == expected


@pytest.mark.parametrize("station, address, who, code", [
    ("7000", None, "carol", "station-ambiguous"),
    ("9999", None, "carol", "unknown-station"),
    ("12 34", None, "carol", "bad-station"),
    (None, "10.20.0.9", "alice", "station-needed"),  # no phone of hers in Lyon
])
def test_what_cannot_be_resolved_is_refused_with_a_reason(
        station: str | None, address: str | None, who: str, code: str) -> None:
    with pytest.raises(BadRequest) as err:
        Stations(settings()).resolve(agent(who), station, address)
    assert err.value.code == code


@pytest.mark.parametrize("override, problem", [
    ({"stations": [{"extension": "1", "platform": "nowhere"}]}, "stations.0"),
    ({"stations": [{"extension": "1", "platform": "lyon"}] * 2}, "listed twice"),
    ({"sites": [{"name": "X", "platform": "nowhere", "subnets": ["10.0.0.0/8"]}]}, "sites.0"),
    ({"sites": [{"name": "X", "platform": "lyon", "subnets": ["not a net"]}]}, "not a network"),
])
def test_the_configuration_names_each_bad_station_or_site(override: dict[str, Any],
                                                         problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings(**override)
    assert problem in str(err.value)
