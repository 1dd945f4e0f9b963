"""A database that cannot be used says so in one sentence, password masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctibridge.model.errors import ConfigError
from ctibridge.store import Database

SECRET = "s3cret-Pa55"


async def _start_fails(url: str) -> ConfigError:
    db = Database(url)
    with pytest.raises(ConfigError) as err:
        await db.start()
    await db.stop()
    return err.value


async def test_unreachable_database_is_a_config_error_with_the_password_masked(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "sqlite":
        (tmp_path / "a-file").write_text("not a folder")
        url = f"sqlite:///{tmp_path / 'a-file' / 'hub.db'}"
        expected = str(tmp_path / "a-file")
    else:
        # The real server, a database that does not exist.
        request.getfixturevalue("pg_url")
        url = f"postgresql://postgres:{SECRET}@127.0.0.1:5432/ctibridge_missing_db"
        expected = "postgresql://postgres:***@127.0.0.1:5432/ctibridge_missing_db"
    err = await _start_fails(url)
    assert err.code == "database-unreachable"
    assert expected in err.message
    assert SECRET not in err.message and SECRET not in str(err)


async def test_nothing_listening_is_a_config_error(tmp_path: Path) -> None:
    err = await _start_fails(f"postgresql://ctib:{SECRET}@127.0.0.1:1/hub")
    assert err.message.startswith(
        "cannot connect to the database 'postgresql://ctib:***@127.0.0.1:1/hub': ")
    assert SECRET not in err.message


async def test_a_folder_where_the_sqlite_file_should_be_is_a_config_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "hub.db").mkdir()
    err = await _start_fails(f"sqlite:///{tmp_path / 'hub.db'}")
    assert err.code == "database-unreachable" and "hub.db" in err.message


@pytest.mark.parametrize("url", [
    f"mysql://root:{SECRET}@localhost/hub",
    "not a url at all",
    f"postgresql://u:{SECRET}@host:notaport/db",
])
def test_unsupported_or_malformed_urls_are_refused_up_front(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        Database(url)
    assert err.value.code == "bad-database-url"
    assert SECRET not in err.value.message


@pytest.mark.parametrize(("given", "driver"), [
    ("sqlite:///x.db", "sqlite+aiosqlite"),
    ("sqlite+pysqlite:///x.db", "sqlite+aiosqlite"),
    ("postgresql://u@h/db", "postgresql+asyncpg"),
    ("postgres://u@h/db", "postgresql+asyncpg"),
    ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg"),
])
def test_plain_urls_get_the_async_driver(given: str, driver: str) -> None:
    assert Database(given).url.drivername == driver
