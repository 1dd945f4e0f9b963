"""The CSTA XML samples in ../shared/fixtures/peers/csta (read in place, never copied)."""

from __future__ import annotations

from pathlib import Path

from tests.needs import shared_fixtures


def csta_root() -> Path:
    return shared_fixtures() / "peers" / "csta" / "pyssimist"


def xml_samples() -> list[Path]:
    return sorted(csta_root().rglob("*.xml"))


def framed_samples() -> list[Path]:
    return sorted(csta_root().rglob("*.bin"))
