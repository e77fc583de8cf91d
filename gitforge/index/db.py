"""Opening the index database, and rebuilding it when its schema is stale."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, create_engine, event, inspect, select

from gitforge.config import Config
from gitforge.index.schema import SCHEMA_VERSION, meta, metadata

log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL mode and a busy timeout so that
    readers never block the one writer and writers queue instead of failing."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_index(config: Config) -> tuple[Engine, bool]:
    """Open the index of a home. Returns (engine, fresh): `fresh` is True
    when the tables were just (re)created and need a full sync."""
    config.index_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.database_url)
    version = stored_version(engine)
    if version == SCHEMA_VERSION:
        return engine, False
    if version is not None:
        log.warning(
            "index schema %s is not %s: dropping it for a rebuild from git",
            version,
            SCHEMA_VERSION,
        )
    reset(engine)
    return engine, True


def stored_version(engine: Engine) -> str | None:
    if not inspect(engine).has_table("meta"):
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(meta.c.value).where(meta.c.key == "schema_version")
        ).first()
    return row[0] if row else None


def reset(engine: Engine) -> None:
    """Drop every table (including ones an older schema had) and recreate."""
    old = type(metadata)()
    old.reflect(bind=engine)
    old.drop_all(bind=engine)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(meta.insert().values(key="schema_version", value=SCHEMA_VERSION))


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(config: Config) -> Engine:
    """The process-wide engine of a home's index, opened (and if needed
    rebuilt from git) on first use."""
    with _engines_lock:
        engine = _engines.get(config.database_url)
        if engine is None:
            engine, fresh = open_index(config)
            if fresh:
                from gitforge.index.sync import sync_all

                sync_all(engine, config.repositories)
            _engines[config.database_url] = engine
        return engine
