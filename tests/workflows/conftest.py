"""Fixtures for the product's workflows: the running product."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agents import Embedder
from tests.workflows.harness import Product, running_product


@pytest.fixture
async def product(db_url: str, local_embedder: Embedder) -> AsyncIterator[Product]:
    async with running_product(db_url, local_embedder) as running:
        yield running


@pytest.fixture
async def quick_product(db_url: str, local_embedder: Embedder) -> AsyncIterator[Product]:
    """The product with short waits: reminder 0.6 s, approval timeout 2 s, picker 1 s."""
    async with running_product(
        db_url, local_embedder, reminder=0.6, timeout=2.0, account_timeout=1.0
    ) as running:
        yield running


@pytest.fixture
async def lifecycle_product(db_url: str, local_embedder: Embedder) -> AsyncIterator[Product]:
    """The product with a short creator's reminder (1 s) for new requests."""
    async with running_product(db_url, local_embedder, request_reminder=1.0) as running:
        yield running
