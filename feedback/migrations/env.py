"""Alembic's entry point for the domain tables.

:mod:`feedback.migrate` hands over its connection (``config.attributes["connection"]``,
a transaction it holds on an async engine through ``run_sync``). Run by the ``alembic``
command instead (``[tool.alembic]`` in ``pyproject.toml``), this opens an async engine on
``sqlalchemy.url``, ``-x database_url=...`` or ``DATABASE_URL``, and runs the
migrations through ``connection.run_sync`` itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import DefaultClause, False_, True_
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from feedback.migrate import include_name
from feedback.schema import UTCDateTime, metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Autogenerate renders dialect-neutral code that does not import feedback.schema."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "server_default" and isinstance(obj, DefaultClause):
        if isinstance(obj.arg, False_):
            return "sa.false()"
        if isinstance(obj.arg, True_):
            return "sa.true()"
    return False


OPTIONS: dict[str, Any] = {
    "target_metadata": metadata,
    "include_name": include_name,
    "compare_type": True,
    "render_item": render_item,
    # SQLite alters a table by copying it: batch mode renders that, PostgreSQL ignores it
    "render_as_batch": True,
}


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def database_url() -> str:
    cfg = context.config
    url = context.get_x_argument(as_dictionary=True).get("database_url")
    if not url and cfg.file_config.has_section(cfg.config_ini_section):  # not from pyproject
        url = cfg.get_main_option("sqlalchemy.url")
    if url:
        return url
    from feedback.settings import load_settings

    return load_settings().database_url


async def run_async() -> None:
    engine = create_async_engine(database_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), literal_binds=True, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()
elif isinstance(shared := context.config.attributes.get("connection"), Connection):
    run_on(shared)
else:
    asyncio.run(run_async())
