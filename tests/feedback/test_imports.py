"""CSV imports on SQLite and PostgreSQL: create, update in place, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy import FromClause, func, select

from agents import FakeEmbedder, get_embedder
from feedback import accounts, areas, embeddings, requests, users
from feedback.database import Database
from feedback.errors import ImportFileError
from feedback.imports import EXAMPLES, ImportResult, import_accounts, import_areas, import_requests
from feedback.schema import account_channels
from feedback.schema import accounts as accounts_t
from feedback.schema import areas as areas_t
from feedback.schema import requests as requests_t


def _csv(tmp_path: Path, *lines: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _channels(db: Database) -> dict[str, str]:
    """Channel id → account name."""
    async with db.read() as conn:
        rows = await conn.execute(
            select(account_channels.c.channel_id, accounts_t.c.name).join(accounts_t)
        )
        return dict(rows.all())


async def _count(db: Database, table: FromClause) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


def test_import_result_reads_as_one_line() -> None:
    assert str(ImportResult("accounts", 10, 2)) == "imported 12 accounts: 10 new, 2 updated"
    assert str(ImportResult("areas", 0, 0, 1)) == "imported 1 area: 0 new, 0 updated, 1 unchanged"


# -- accounts -----------------------------------------------------------------------


async def test_accounts_are_created_with_their_channels(
    domain_db: Database, tmp_path: Path
) -> None:
    result = await import_accounts(domain_db, EXAMPLES / "accounts.csv")
    assert result == ImportResult("accounts", created=8)
    async with domain_db.read() as conn:
        acme = await accounts.by_channel(conn, "C0ACME0002")
        listed = await accounts.listing(conn)
    assert acme is not None
    assert (acme.name, acme.arr, acme.tier, acme.domain) == (
        "Acme Corp",
        Decimal("1200000"),
        "enterprise",
        "acme.example",
    )
    assert listed[0].name == "Umbrella"  # largest ARR first
    assert len(await _channels(domain_db)) == 10


async def test_reimport_updates_in_place(domain_db: Database, tmp_path: Path) -> None:
    header = "name,arr,tier,crm_id"
    await import_accounts(domain_db, _csv(tmp_path, header, "Acme,100,smb,CRM1", "Globex,5,,"))
    async with domain_db.read() as conn:
        before = {a.name: a.id for a in await accounts.listing(conn)}
    result = await import_accounts(
        domain_db,
        _csv(tmp_path, header, "Acme Corporation,250,enterprise,CRM1", "globex,5,,", "Hooli,1,,"),
    )
    assert result == ImportResult("accounts", created=1, updated=2)
    async with domain_db.read() as conn:
        after = {a.name: a for a in await accounts.listing(conn)}
    assert after["Acme Corporation"].id == before["Acme"]  # keyed by crm_id: renamed
    assert after["Acme Corporation"].arr == Decimal(250)
    assert after["globex"].id == before["Globex"]  # keyed by name, any case
    again = await import_accounts(domain_db, tmp_path / "file.csv")
    assert again == ImportResult("accounts", unchanged=3)


async def test_an_account_found_by_name_adopts_a_crm_id(
    domain_db: Database, tmp_path: Path
) -> None:
    await import_accounts(domain_db, _csv(tmp_path, "name,arr", "Acme,1"))
    result = await import_accounts(domain_db, _csv(tmp_path, "name,arr,crm_id", "ACME,1,CRM1"))
    assert result == ImportResult("accounts", updated=1)
    async with domain_db.read() as conn:
        [acme] = await accounts.listing(conn)
    assert (acme.name, acme.crm_id) == ("ACME", "CRM1")


async def test_a_column_the_file_lacks_is_left_alone(domain_db: Database, tmp_path: Path) -> None:
    await import_accounts(
        domain_db, _csv(tmp_path, "name,arr,tier,channels", "Acme,1,enterprise,C0ACME0001")
    )
    await import_accounts(domain_db, _csv(tmp_path, "name,arr", "Acme,2"))
    async with domain_db.read() as conn:
        [acme] = await accounts.listing(conn)
    assert (acme.arr, acme.tier) == (Decimal(2), "enterprise")
    assert await _channels(domain_db) == {"C0ACME0001": "Acme"}
    await import_accounts(domain_db, _csv(tmp_path, "name,arr,tier,channels", "Acme,2,,"))
    async with domain_db.read() as conn:
        [acme] = await accounts.listing(conn)
    assert acme.tier == ""
    assert await _channels(domain_db) == {}


async def test_channels_move_between_accounts(domain_db: Database, tmp_path: Path) -> None:
    header = "name,arr,channels"
    await import_accounts(
        domain_db, _csv(tmp_path, header, "Acme,1,C0ACME0001 C0SHARED01", "Globex,1,C0GLOBEX01")
    )
    result = await import_accounts(
        domain_db, _csv(tmp_path, header, "Globex,1,C0GLOBEX01;C0SHARED01")
    )
    assert result == ImportResult("accounts", updated=1)
    assert await _channels(domain_db) == {
        "C0ACME0001": "Acme",
        "C0GLOBEX01": "Globex",
        "C0SHARED01": "Globex",
    }


async def test_a_bad_row_imports_nothing(domain_db: Database, tmp_path: Path) -> None:
    path = _csv(tmp_path, "name,arr,channels", "Acme,1,C0ACME0001", "Globex,1.2M,", "Initech,3,")
    with pytest.raises(ImportFileError) as info:
        await import_accounts(domain_db, path)
    assert [(e.line, e.reason[:26]) for e in info.value.errors] == [
        (3, "arr: '1.2M' is not a plain")
    ]
    assert str(info.value).startswith(f"{path}: 1 bad row(s), nothing imported; fix them")
    assert await _count(domain_db, accounts_t) == 0
    assert await _count(domain_db, account_channels) == 0


async def test_conflicts_with_the_database_are_row_errors_too(
    domain_db: Database, tmp_path: Path
) -> None:
    await import_accounts(
        domain_db, _csv(tmp_path, "name,arr,crm_id", "Acme,1,CRM1", "Globex,1,CRM2", "Hooli,1,")
    )
    path = _csv(
        tmp_path,
        "name,arr,crm_id",
        "Initech,1,",  # fine on its own
        "Globex,1,CRM9",  # Globex has CRM2
        "Acme,1,CRM2",  # CRM2 is Globex, Acme is another account
        "Hooli,x,",  # a parse error, reported with the others
        "hooli,1,",  # Hooli again: a duplicate in the file
        "HOOLI INC,1,",
    )
    with pytest.raises(ImportFileError) as info:
        await import_accounts(domain_db, path)
    assert [e.line for e in info.value.errors] == [3, 4, 5, 6]
    assert info.value.errors[3].reason.startswith("name 'hooli' is already on line 5")
    assert "belongs to the account with crm_id 'CRM2', not 'CRM9'" in info.value.errors[0].reason
    assert "name 'Acme' is taken by another account (crm_id 'CRM1')" in info.value.errors[1].reason
    assert await _count(domain_db, accounts_t) == 3


async def test_two_rows_may_not_update_one_account(domain_db: Database, tmp_path: Path) -> None:
    await import_accounts(domain_db, _csv(tmp_path, "name,arr,crm_id", "Acme,1,CRM1"))
    with pytest.raises(ImportFileError) as info:
        await import_accounts(
            domain_db, _csv(tmp_path, "name,arr,crm_id", "Acme Corp,1,CRM1", "Acme,2,")
        )
    [error] = info.value.errors
    assert (error.line, error.reason) == (
        3,
        "updates the same account as line 2; merge the two rows",
    )


async def test_a_missing_file_is_an_os_error(domain_db: Database, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await import_accounts(domain_db, tmp_path / "nope.csv")


# -- areas --------------------------------------------------------------------------


async def test_areas_are_keyed_by_slug(domain_db: Database, tmp_path: Path) -> None:
    assert await import_areas(domain_db, EXAMPLES / "areas.csv") == ImportResult("areas", 5)
    result = await import_areas(
        domain_db,
        _csv(
            tmp_path, "name,slug,description", "Reports & Dashboards,reporting,Charts", "Billing,,"
        ),
    )
    assert result == ImportResult("areas", created=1, updated=1)
    async with domain_db.read() as conn:
        found = {a.slug: a for a in await areas.listing(conn)}
    assert (found["reporting"].name, found["reporting"].description) == (
        "Reports & Dashboards",
        "Charts",
    )
    assert found["reporting"].channel_id == "C0AREAREP1"  # no channel column: kept
    assert found["billing"].name == "Billing"
    assert found["security-sso"].name == "Security & SSO"


async def test_an_area_name_taken_by_another_slug_is_an_error(
    domain_db: Database, tmp_path: Path
) -> None:
    await import_areas(domain_db, _csv(tmp_path, "name", "Mobile"))
    with pytest.raises(ImportFileError) as info:
        await import_areas(domain_db, _csv(tmp_path, "name,slug", "mobile,apps", "Web,"))
    [error] = info.value.errors
    assert error.line == 2
    assert (
        error.reason == "name 'mobile' is taken by the area 'mobile'; use that slug or another name"
    )
    assert await _count(domain_db, areas_t) == 1


# -- requests -----------------------------------------------------------------------


async def _import_examples(db: Database, embedder: FakeEmbedder) -> ImportResult:
    await import_areas(db, EXAMPLES / "areas.csv")
    return await import_requests(db, EXAMPLES / "requests.csv", embedder)


async def test_requests_are_created_and_embedded(domain_db: Database) -> None:
    embedder = FakeEmbedder(dim=32)
    result = await _import_examples(domain_db, embedder)
    assert result == ImportResult("requests", created=40)
    async with domain_db.read() as conn:
        stored = await embeddings.load(conn, embedder.name)
        pdf = await requests.get_by_slug(conn, "export-dashboards-to-pdf")
        all_areas = {a.id: a.slug for a in await areas.listing(conn)}
        creator = await users.get(conn, pdf.creator_id or "")
    assert len(stored) == 40 and {s.text_id for s in stored} == {"request"}
    assert all(s.vector.shape == (32,) and s.vector.dtype == np.float32 for s in stored)
    by_request = {s.request_id: s for s in stored}
    assert by_request[pdf.id].text == pdf.text
    np.testing.assert_allclose(by_request[pdf.id].vector, (await embedder.embed([pdf.text]))[0])
    assert (pdf.status, [all_areas[a] for a in pdf.area_ids]) == ("planned", ["reporting"])
    assert (creator.email, creator.name, creator.slack_id) == (
        "priya.raman@ourco.example",
        "Priya Raman",
        None,
    )


async def test_requests_embed_in_batches_and_report_progress(
    domain_db: Database, tmp_path: Path
) -> None:
    path = _csv(tmp_path, "title", *(f"Request number {n}" for n in range(70)))
    embedder = FakeEmbedder(dim=8)
    seen: list[tuple[int, int]] = []
    await import_requests(domain_db, path, embedder, progress=lambda *p: seen.append(p))
    assert [len(batch) for batch in embedder.calls] == [64, 6]
    assert seen == [(0, 70), (64, 70), (70, 70)]


async def test_reimport_reembeds_only_changed_text(domain_db: Database, tmp_path: Path) -> None:
    await import_areas(domain_db, EXAMPLES / "areas.csv")
    header = "title,description,status,areas"
    first = _csv(tmp_path, header, "Dark mode,Easier at night,open,mobile", "SSO,,open,")
    embedder = FakeEmbedder(dim=16)
    await import_requests(domain_db, first, embedder)
    async with domain_db.read() as conn:
        old = {s.request_id: s for s in await embeddings.load(conn, embedder.name)}
    embedder.calls.clear()
    assert await import_requests(domain_db, first, embedder) == ImportResult(
        "requests", unchanged=2
    )
    assert embedder.calls == []

    second = _csv(
        tmp_path,
        header,
        "dark MODE,Easier on the eyes at night,shipped,mobile;reporting",
        "SSO,,open,",
    )
    assert await import_requests(domain_db, second, embedder) == ImportResult(
        "requests", updated=1, unchanged=1
    )
    assert embedder.calls == [["dark MODE. Easier on the eyes at night"]]
    async with domain_db.read() as conn:
        new = {s.request_id: s for s in await embeddings.load(conn, embedder.name)}
        dark = await requests.get_by_slug(conn, "dark-mode")
    assert set(new) == set(old) and len(new) == 2
    assert new[dark.id].text == dark.text == "dark MODE. Easier on the eyes at night"
    assert not np.allclose(new[dark.id].vector, old[dark.id].vector)
    assert (dark.status, dark.shipped_at is not None, len(dark.area_ids)) == ("shipped", True, 2)


async def test_a_new_embedder_embeds_every_request(domain_db: Database, tmp_path: Path) -> None:
    path = _csv(tmp_path, "title", "Dark mode", "SSO")
    await import_requests(domain_db, path, FakeEmbedder(dim=8))
    other = FakeEmbedder(dim=12)
    assert await import_requests(domain_db, path, other) == ImportResult("requests", unchanged=2)
    async with domain_db.read() as conn:
        assert len(await embeddings.load(conn, other.name)) == 2


async def test_an_empty_creator_keeps_the_creator(domain_db: Database, tmp_path: Path) -> None:
    await import_requests(
        domain_db, _csv(tmp_path, "title,creator_email", "SSO,pm@ourco.example"), FakeEmbedder()
    )
    await import_requests(domain_db, _csv(tmp_path, "title,creator_email", "SSO,"), FakeEmbedder())
    async with domain_db.read() as conn:
        sso = await requests.get_by_slug(conn, "sso")
        assert (await users.get(conn, sso.creator_id or "")).email == "pm@ourco.example"


async def test_request_rows_that_cannot_be_placed(domain_db: Database, tmp_path: Path) -> None:
    await import_areas(domain_db, EXAMPLES / "areas.csv")
    async with domain_db.transaction() as conn:
        for n in (1, 2):
            await requests.create(
                conn, request_id=f"r{n}", title="Dark mode", description="", creator_id=None
            )
    embedder = FakeEmbedder()
    with pytest.raises(ImportFileError) as info:
        await import_requests(
            domain_db,
            _csv(
                tmp_path,
                "title,areas,status",
                "New one,,",
                "dark mode,,",
                "X,billing;mobile,",
                "Y,,nope",
            ),
            embedder,
        )
    assert [e.line for e in info.value.errors] == [3, 4, 5]
    assert info.value.errors[0].reason == (
        "title 'dark mode' names 2 requests (dark-mode, dark-mode-2); rename all but one of "
        "them first"
    )
    assert info.value.errors[1].reason == (
        "areas: unknown 'billing'; the areas are data-import-export, integrations, mobile, "
        "reporting, security-sso (import areas.csv first)"
    )
    assert embedder.calls == []  # nothing embedded for a file that is refused
    assert await _count(domain_db, requests_t) == 2


class _BrokenEmbedder(FakeEmbedder):
    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise RuntimeError("embedding service down")


async def test_a_failing_embedder_imports_nothing(domain_db: Database, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="service down"):
        await import_requests(domain_db, _csv(tmp_path, "title", "SSO"), _BrokenEmbedder())
    assert await _count(domain_db, requests_t) == 0


class _ShortEmbedder(FakeEmbedder):
    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return (await super().embed(texts))[:, :4]


async def test_vectors_of_the_wrong_shape_are_refused(domain_db: Database, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"shape \(1, 4\) for 1 texts; expected \(1, 256\)"):
        await import_requests(domain_db, _csv(tmp_path, "title", "SSO"), _ShortEmbedder())


async def test_the_local_model_embeds_the_examples(domain_db: Database) -> None:
    embedder = get_embedder("local")
    await import_areas(domain_db, EXAMPLES / "areas.csv")
    await import_requests(domain_db, EXAMPLES / "requests.csv", embedder)
    async with domain_db.read() as conn:
        stored = await embeddings.load(conn, embedder.name)
        sso = await requests.get_by_slug(conn, "sso-with-okta-saml")
    assert len(stored) == 40 and all(s.vector.shape == (embedder.dim,) for s in stored)
    [query] = await embedder.embed(["Globex needs single sign-on through Okta"])
    best = max(stored, key=lambda s: float(s.vector @ query))
    assert best.request_id == sso.id
