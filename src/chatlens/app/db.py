"""Opening the app state: a SQLite file beside the store by default, any SQLAlchemy URL
(Postgres) by `--app-db`; migrated with Alembic on open."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def app_db_url(store: Path, url: str | None = None) -> str:
    """The app-state URL: the argument, else $CHATLENS_APP_DB, else `<store>.app.sqlite`
    beside the store (`chatlens.duckdb` -> `chatlens.app.sqlite`)."""
    url = url or os.environ.get("CHATLENS_APP_DB")
    if url:
        return url
    return f"sqlite:///{store.with_suffix('.app.sqlite')}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")  # readers never wait for the one writer
    cursor.execute("PRAGMA busy_timeout = 5000")  # the CLI and the server may both write
    cursor.close()


def open_app_db(url: str) -> sessionmaker[Any]:
    """A session factory over the migrated app state at `url`."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest revision (versions in chatlens/app/migrations)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
