"""What the README and docs promise about the demo matches what it does."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def words(path: str) -> str:
    return " ".join((ROOT / path).read_text(encoding="utf-8").split())


def test_the_readme_does_not_promise_a_browser_the_demo_never_opens() -> None:
    readme = words("README.md")
    assert "It opens on" not in readme
    assert "opens no browser" in readme and "http://127.0.0.1:8000/" in readme


@pytest.mark.parametrize("page", ["docs/agentbar.md", "docs/democrm.md"])
def test_the_docs_say_the_demo_root_leads_to_the_demo_crm(page: str) -> None:
    settings = Settings.demo_settings()
    assert settings.demo and settings.democrm is not None  # api/app.py: / -> /democrm/
    text = words(page)
    assert "`/`" in text and ("/democrm/" in text or "[demo CRM](democrm.md)" in text)


def test_sqlite_side_files_are_ignored() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert {"*.db", "*.db-wal", "*.db-shm"} <= set(ignored)
