"""Alembic migrations create exactly what feedback/schema.py declares, on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from feedback import migrate
from feedback.errors import ConfigurationError
from feedback.schema import metadata

VERSION = Table("alembic_version", MetaData(), Column("version_num"))


async def _inspect(url: str, look: Any) -> Any:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(lambda sync: look(inspect(sync), sync))
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    return set(await _inspect(url, lambda insp, _: insp.get_table_names()))


async def test_upgrade_creates_every_table(empty_db_url: str) -> None:
    assert await migrate.current(empty_db_url) is None
    await migrate.upgrade(empty_db_url)
    assert await migrate.current(empty_db_url) == migrate.head() == "0003"
    assert await _tables(empty_db_url) >= {*metadata.tables, "alembic_version"}


async def test_upgrading_twice_is_a_no_op(empty_db_url: str) -> None:
    await migrate.upgrade(empty_db_url)
    extra = Table("wf_marker", MetaData(), Column("n", Integer))
    engine = create_async_engine(empty_db_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(extra.create)
            await conn.execute(extra.insert().values(n=1))
        await migrate.upgrade(empty_db_url)
        async with engine.connect() as conn:
            assert (await conn.execute(select(extra.c.n))).scalar_one() == 1
            await conn.run_sync(extra.drop)
            await conn.commit()
    finally:
        await engine.dispose()
    assert await migrate.current(empty_db_url) == migrate.head()


async def test_concurrent_upgrades_wait_for_each_other(empty_db_url: str) -> None:
    await asyncio.gather(*(migrate.upgrade(empty_db_url) for _ in range(3)))
    assert await migrate.current(empty_db_url) == migrate.head()


async def test_the_migrated_database_matches_the_schema(empty_db_url: str) -> None:
    """Autogenerate finds nothing to do: a schema edit needs a migration to pass."""
    await migrate.upgrade(empty_db_url)
    assert await migrate.differences(empty_db_url) == []


async def test_tables_outside_the_schema_are_not_differences(empty_db_url: str) -> None:
    """The engine's wf_* tables share the database; the migrations never touch them."""
    await migrate.upgrade(empty_db_url)
    engine = create_async_engine(empty_db_url, poolclass=NullPool)
    other = Table("wf_other", MetaData(), Column("n", Integer, primary_key=True))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(other.create)
        assert await migrate.differences(empty_db_url) == []
        await migrate.downgrade(empty_db_url, "base")
        left = await _tables(empty_db_url) - {"alembic_version"}
        assert "wf_other" in left  # the engine's own tables may be there too
        assert not left & set(metadata.tables)
        async with engine.begin() as conn:
            await conn.run_sync(other.drop)
    finally:
        await engine.dispose()
    await migrate.upgrade(empty_db_url)


def _names_in_database(insp: Any, sync: Connection) -> dict[str, dict[str, set[str]]]:
    out = {}
    for name in metadata.tables:
        out[name] = {
            "pk": {insp.get_pk_constraint(name)["name"]},
            "uq": {c["name"] for c in insp.get_unique_constraints(name)},
            "fk": {c["name"] for c in insp.get_foreign_keys(name)},
            "ck": {c["name"] for c in insp.get_check_constraints(name)},
            "ix": {i["name"] for i in insp.get_indexes(name) if not i.get("duplicates_constraint")},
        }
    return out


def _names_in_schema() -> dict[str, dict[str, set[str]]]:
    out: dict[str, dict[str, set[str]]] = {}
    for name, table in metadata.tables.items():
        kinds: dict[str, set[str]] = {"pk": set(), "uq": set(), "fk": set(), "ck": set()}
        for constraint in table.constraints:
            kind = type(constraint).__name__
            key = {
                "PrimaryKeyConstraint": "pk",
                "UniqueConstraint": "uq",
                "ForeignKeyConstraint": "fk",
                "CheckConstraint": "ck",
            }[kind]
            kinds[key].add(str(constraint.name))
        kinds["ix"] = {str(index.name) for index in table.indexes}
        out[name] = kinds
    return out


async def test_constraint_names_follow_the_naming_convention(empty_db_url: str) -> None:
    await migrate.upgrade(empty_db_url)
    in_database = await _inspect(empty_db_url, _names_in_database)
    assert in_database == _names_in_schema()
    assert in_database["requests"]["ck"] == {"ck_requests_status"}
    assert in_database["account_channels"]["fk"] == {"fk_account_channels_account_id_accounts"}


async def test_ensure_current_says_what_to_run(empty_db_url: str) -> None:
    with pytest.raises(migrate.SchemaOutOfDate, match="run `feedback-bot db upgrade`") as info:
        await migrate.ensure_current(empty_db_url)
    assert (info.value.current, info.value.expected) == (None, migrate.head())
    await migrate.upgrade(empty_db_url)
    await migrate.ensure_current(empty_db_url)


async def test_ensure_current_knows_a_newer_database(empty_db_url: str) -> None:
    await migrate.upgrade(empty_db_url)
    engine = create_async_engine(empty_db_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(VERSION).values(version_num="9999"))
        with pytest.raises(migrate.SchemaOutOfDate, match="upgrade feedback-bot"):
            await migrate.ensure_current(empty_db_url)
        async with engine.begin() as conn:
            await conn.execute(update(VERSION).values(version_num=migrate.head()))
    finally:
        await engine.dispose()


async def test_a_missing_sqlite_file_is_not_created_to_look(tmp_path: Any) -> None:
    path = tmp_path / "nested" / "none.db"
    assert await migrate.current(f"sqlite+aiosqlite:///{path}") is None
    assert not path.parent.exists()
    await migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    assert path.exists()


@pytest.mark.parametrize(
    "url",
    ["sqlite+aiosqlite:///:memory:", "sqlite:///x.db", "mysql+aiomysql://u@h/db"],
)
async def test_unsupported_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        await migrate.upgrade(url)


async def test_an_unknown_revision_is_a_value_error(empty_db_url: str) -> None:
    with pytest.raises(ValueError, match="Can't locate revision identified by 'nope'"):
        await migrate.upgrade(empty_db_url, "nope")
    assert await migrate.current(empty_db_url) is None
