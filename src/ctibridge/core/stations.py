"""Stations: which phone, on which telephony platform, an agent works at this session.

An agent logs in at a station (docs/deployments.md):

* an extension typed in the bar: a configured station names its platform; an
  extension configured on two platforms is told apart by the agent's site;
* nothing typed: the client's address falls in a configured site's subnets, and the
  agent's device on that site's platform is their configured one;
* neither: the agent stays on the platform their configuration gives them.

The station's platform becomes the agent's voice platform until the next login.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..config import Settings
from ..model.agent import Agent
from ..model.errors import BadRequest

_EXTENSION = re.compile(r"^[0-9A-Za-z*#+_-]{1,32}$")


@dataclass(frozen=True, slots=True)
class Placement:
    platform: str
    device: str
    how: str  # "station" (typed), "site" (from the network) or "configured"
    site: str | None = None


@dataclass(frozen=True, slots=True)
class _Site:
    name: str
    platform: str
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


class Stations:
    def __init__(self, settings: Settings) -> None:
        self._platforms: dict[str, list[str]] = {}  # extension -> platforms it exists on
        for st in settings.stations:
            self._platforms.setdefault(st.extension, []).append(st.platform)
        # The phones each agent's configuration gives them (a station login may have
        # moved the agent since): agent -> platform -> device, and the home phone.
        self._configured: dict[tuple[str, str], str] = {}
        self._home: dict[str, tuple[str, str]] = {}
        for a in settings.agents:
            self._home[a.id] = (a.platform, a.extension)
            for p, d in {a.platform: a.extension, **a.devices}.items():
                self._configured[(a.id, p)] = d
        self._sites = [
            _Site(s.name, s.platform,
                  tuple(ipaddress.ip_network(n, strict=False) for n in s.subnets))
            for s in settings.sites]

    def home(self, agent_id: str) -> tuple[str, str] | None:
        """The agent's configured platform and phone (None: an agent added at run time)."""
        return self._home.get(agent_id)

    @property
    def configured(self) -> bool:
        return bool(self._platforms or self._sites)

    def site_of(self, address: str | None) -> _Site | None:
        if not address:
            return None
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:  # "unknown", a unix socket…
            return None
        return next((s for s in self._sites if any(ip in n for n in s.networks)), None)

    def resolve(self, agent: Agent, station: str | None, address: str | None) -> Placement:
        site = self.site_of(address)
        if station and not _EXTENSION.match(station):
            raise BadRequest(f"{station[:32]!r} is not an extension (digits, letters, * # + _ -)",
                             code="bad-station")
        if station:
            platforms = self._platforms.get(station, [])
            if len(platforms) > 1 and site is not None and site.platform in platforms:
                platforms = [site.platform]
            if len(platforms) == 1:
                return Placement(platforms[0], station, "station",
                                 site.name if site is not None else None)
            if len(platforms) > 1:
                raise BadRequest(
                    f"station {station} exists on {' and '.join(sorted(platforms))}; "
                    "log in from your site's network or ask your administrator which one "
                    "is yours", code="station-ambiguous", platforms=sorted(platforms))
            if site is not None:  # an extension not listed, on this site's system
                return Placement(site.platform, station, "station", site.name)
            raise BadRequest(
                f"station {station} is not a configured station; check the number or ask "
                "your administrator", code="unknown-station")
        if site is not None:
            device = self._configured.get((agent.agent_id, site.platform))
            if device is None:
                raise BadRequest(
                    f"you are connecting from site {site.name} ({site.platform}) where you "
                    "have no phone configured: type your extension", code="station-needed",
                    site=site.name, platform=site.platform)
            return Placement(site.platform, device, "site", site.name)
        platform, device = self._home[agent.agent_id] if agent.agent_id in self._home else (
            agent.platform, agent.extension)
        return Placement(platform, device, "configured")
