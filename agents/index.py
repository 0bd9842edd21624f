"""An in-memory numpy index of request embeddings, searched by cosine similarity.

A request owns one or more rows: its title and description, and the feedback already
linked to it. A request's score for a query is its best row's score. Requests are
added, extended, replaced and removed one at a time without rebuilding the matrix, and
the rows can be exported and imported as plain arrays so the domain layer can persist
them.

Every index belongs to one embedder (its ``name`` and ``dim``): vectors of different
embedders are not comparable, so the index refuses to mix them. ::

    index = VectorIndex.for_embedder(embedder)
    index.add("r1", await embedder.embed(texts), texts=texts)
    hits = index.search(query_vector, k=5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agents.embedders import Embedder
from agents.errors import EmbedderConfigError

__all__ = ["Hit", "IndexArrays", "VectorIndex"]

Matrix = npt.NDArray[np.float32]

_ROW_BLOCK = 4096


@dataclass(frozen=True)
class Hit:
    """A request's best score for one query.

    Attributes:
        request_id: The request.
        score: Cosine similarity of its best row.
        text_id: Id of that row.
        text: The text of that row (``""`` if unknown).
    """

    request_id: str
    score: float
    text_id: str
    text: str

    def __repr__(self) -> str:
        return f"Hit({self.request_id!r}, {self.score:.3f}, via {self.text_id!r})"


@dataclass(frozen=True, repr=False, eq=False)
class IndexArrays:
    """The rows of a :class:`VectorIndex` as plain arrays, for persistence.

    Attributes:
        embedder: Name of the embedder the vectors come from.
        dim: Vector length.
        request_ids: Owner of each row, shape ``(n,)``, str.
        text_ids: Id of each row, shape ``(n,)``, str.
        texts: Text of each row, shape ``(n,)``, str.
        vectors: The unit vectors, shape ``(n, dim)``, float32.
    """

    embedder: str
    dim: int
    request_ids: npt.NDArray[np.str_]
    text_ids: npt.NDArray[np.str_]
    texts: npt.NDArray[np.str_]
    vectors: Matrix

    def __repr__(self) -> str:
        requests = len(set(self.request_ids.tolist()))
        return (
            f"IndexArrays(embedder={self.embedder!r}, dim={self.dim}, "
            f"rows={len(self.request_ids)}, requests={requests})"
        )


class VectorIndex:
    """Request embeddings of one embedder, with incremental updates and top-k search.

    Args:
        embedder: Name of the embedder whose vectors this index holds.
        dim: Vector length.
    """

    def __init__(self, embedder: str, dim: int) -> None:
        if dim < 1:
            raise ValueError(f"dim must be at least 1, got {dim}")
        self.embedder = embedder
        self.dim = dim
        self._vectors: Matrix = np.zeros((64, dim), dtype=np.float32)
        self._owner = np.zeros(64, dtype=np.int64)  # slot of the request owning each row
        self._seq = np.zeros(64, dtype=np.int64)  # insertion order of each row
        self._next_seq = 0
        self._text_ids: list[str] = []
        self._texts: list[str] = []
        self._slots: dict[str, int] = {}
        self._slot_ids: list[str | None] = []
        self._free: list[int] = []
        self._titles: dict[str, str] = {}  # text of each request's oldest row
        self._groups: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]] | None = None

    @classmethod
    def for_embedder(cls, embedder: Embedder) -> VectorIndex:
        """An empty index for ``embedder``'s vectors.

        Args:
            embedder: The embedder.

        Returns:
            The index.
        """
        return cls(embedder.name, embedder.dim)

    def __repr__(self) -> str:
        return (
            f"VectorIndex(embedder={self.embedder!r}, dim={self.dim}, "
            f"requests={len(self)}, rows={self.rows})"
        )

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._slots

    @property
    def rows(self) -> int:
        """Number of stored vectors."""
        return len(self._text_ids)

    @property
    def request_ids(self) -> list[str]:
        """The indexed requests, in insertion order of their slots."""
        return [r for r in self._slot_ids if r is not None]

    def check_embedder(self, name: str, dim: int) -> None:
        """Refuse vectors of another embedder.

        Args:
            name: The embedder name of the vectors about to be used.
            dim: Their length.

        Raises:
            EmbedderConfigError: The name or the length differs from this index's.
        """
        if name != self.embedder or dim != self.dim:
            raise EmbedderConfigError(
                f"this index holds vectors of {self.embedder!r} ({self.dim} dims), not of "
                f"{name!r} ({dim} dims): vectors of different embedders cannot be compared; "
                f"re-embed the requests with {name!r} or configure {self.embedder!r}"
            )

    def add(
        self,
        request_id: str,
        vectors: npt.ArrayLike,
        *,
        text_ids: Sequence[str] | None = None,
        texts: Sequence[str] | None = None,
    ) -> None:
        """Add rows to a request, creating it if needed (e.g. newly linked feedback).

        Args:
            request_id: The request.
            vectors: Shape ``(k, dim)`` or ``(dim,)``; rows are L2-normalised on the way in.
            text_ids: An id per row (default: ``"<request_id>#<n>"``).
            texts: The text of each row, shown to a judge and in decisions.

        Raises:
            ValueError: Wrong shape, non-finite or zero vectors, mismatched lengths, or a
                text id the request already has.
        """
        existing = self._row_indices(request_id) if request_id in self else np.zeros(0, np.int64)
        matrix, ids, labels = self._prepare(request_id, vectors, text_ids, texts, len(existing))
        if clash := {self._text_ids[i] for i in existing.tolist()}.intersection(ids):
            raise ValueError(f"request {request_id!r} already has rows {sorted(clash)}")
        self._titles.setdefault(request_id, labels[0])
        self._append(self._slot_for(request_id), matrix, ids, labels)

    def update(
        self,
        request_id: str,
        vectors: npt.ArrayLike,
        *,
        text_ids: Sequence[str] | None = None,
        texts: Sequence[str] | None = None,
    ) -> None:
        """Replace all rows of a request (e.g. after its title or description changed).

        Args:
            request_id: The request; it must be indexed.
            vectors: The new rows, as in :meth:`add`.
            text_ids: An id per row.
            texts: The text of each row.

        Raises:
            KeyError: The request is not indexed.
            ValueError: As in :meth:`add`.
        """
        if request_id not in self._slots:
            raise KeyError(f"request {request_id!r} is not in the index: add() it first")
        matrix, ids, labels = self._prepare(request_id, vectors, text_ids, texts, 0)
        self._delete_rows(self._row_indices(request_id))
        self._titles[request_id] = labels[0]
        self._append(self._slots[request_id], matrix, ids, labels)

    def remove(self, request_id: str) -> None:
        """Drop a request and all its rows.

        Args:
            request_id: The request.

        Raises:
            KeyError: The request is not indexed.
        """
        if request_id not in self._slots:
            raise KeyError(f"request {request_id!r} is not in the index")
        self._delete_rows(self._row_indices(request_id))
        slot = self._slots.pop(request_id)
        del self._titles[request_id]
        self._slot_ids[slot] = None
        self._free.append(slot)
        self._groups = None

    def search(self, query: npt.ArrayLike, k: int = 5) -> list[Hit]:
        """The ``k`` requests closest to one query vector, best first.

        Args:
            query: A vector of shape ``(dim,)`` from the index's embedder.
            k: How many requests to return (fewer when the index is smaller).

        Returns:
            Hits ordered by descending score.

        Raises:
            ValueError: The query has the wrong length.
        """
        vector = np.asarray(query, dtype=np.float32).reshape(1, -1)
        return self.search_many(vector, k)[0]

    def search_many(self, queries: npt.ArrayLike, k: int = 5) -> list[list[Hit]]:
        """:meth:`search` for many query vectors at once.

        Args:
            queries: Shape ``(m, dim)``.
            k: How many requests per query.

        Returns:
            One ranked list of hits per query.

        Raises:
            ValueError: The queries have the wrong shape.
        """
        matrix = np.asarray(queries, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (m, {self.dim}), got {matrix.shape}")
        if k < 1 or not self._slots:
            return [[] for _ in range(len(matrix))]
        order, starts, owners = self._grouping()
        results: list[list[Hit]] = []
        for begin in range(0, len(matrix), 256):
            ranked = self._scores(matrix[begin : begin + 256])[:, order]
            best = np.maximum.reduceat(ranked, starts, axis=1)
            results.extend(self._top_hits(best, ranked, order, starts, owners, k))
        return results

    def export(self) -> IndexArrays:
        """The rows as arrays (copies), for persistence.

        Returns:
            The arrays; :meth:`from_arrays` restores an equal index.
        """
        n = self.rows
        rows = (
            np.lexsort((self._seq[:n], self._first_seq()[self._owner[:n]]))
            if n
            else np.zeros(0, dtype=np.int64)
        )
        return IndexArrays(
            embedder=self.embedder,
            dim=self.dim,
            request_ids=np.array(
                [self._slot_ids[s] for s in self._owner[rows].tolist()], dtype=np.str_
            ).reshape(n),
            text_ids=np.array([self._text_ids[r] for r in rows.tolist()], dtype=np.str_).reshape(n),
            texts=np.array([self._texts[r] for r in rows.tolist()], dtype=np.str_).reshape(n),
            vectors=self._vectors[rows].copy(),
        )

    @classmethod
    def from_arrays(cls, arrays: IndexArrays, *, embedder: Embedder | None = None) -> VectorIndex:
        """Rebuild an index from :meth:`export`'s arrays.

        Args:
            arrays: The arrays.
            embedder: When given, the embedder that will query the index: its name and
                dimension must match the arrays'.

        Returns:
            The index.

        Raises:
            EmbedderConfigError: The arrays come from another embedder.
            ValueError: The arrays are inconsistent.
        """
        index = cls(arrays.embedder, arrays.dim)
        if embedder is not None:
            index.check_embedder(embedder.name, embedder.dim)
        n = len(arrays.request_ids)
        if not (len(arrays.text_ids) == len(arrays.texts) == len(arrays.vectors) == n):
            raise ValueError("IndexArrays: request_ids, text_ids, texts and vectors differ in size")
        grouped: dict[str, list[int]] = {}
        for row, request_id in enumerate(arrays.request_ids.tolist()):
            grouped.setdefault(str(request_id), []).append(row)
        for request_id, rows in grouped.items():
            index.add(
                request_id,
                arrays.vectors[rows],
                text_ids=[str(arrays.text_ids[r]) for r in rows],
                texts=[str(arrays.texts[r]) for r in rows],
            )
        return index

    # -- internals ---------------------------------------------------------------------

    def _prepare(
        self,
        request_id: str,
        vectors: npt.ArrayLike,
        text_ids: Sequence[str] | None,
        texts: Sequence[str] | None,
        first: int,
    ) -> tuple[Matrix, list[str], list[str]]:
        matrix = self._check_vectors(vectors)
        ids = (
            [f"{request_id}#{first + i}" for i in range(len(matrix))]
            if text_ids is None
            else [str(t) for t in text_ids]
        )
        labels = [""] * len(matrix) if texts is None else [str(t) for t in texts]
        if len(ids) != len(matrix) or len(labels) != len(matrix):
            raise ValueError(f"{len(matrix)} vectors, {len(ids)} text_ids, {len(labels)} texts")
        if len(set(ids)) != len(ids):
            raise ValueError(f"text_ids repeat an id: {ids}")
        return matrix, ids, labels

    def _check_vectors(self, vectors: npt.ArrayLike) -> Matrix:
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim == 1:
            matrix = matrix.reshape(1, -1)
        if matrix.ndim != 2 or matrix.shape[1] != self.dim or len(matrix) == 0:
            raise ValueError(
                f"vectors must have shape (k, {self.dim}) with k >= 1 for the index of "
                f"{self.embedder!r}, got {np.shape(vectors)}"
            )
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0):
            raise ValueError("vectors must be finite and non-zero")
        unit: Matrix = matrix / norms
        return unit

    def _scores(self, queries: Matrix) -> Matrix:
        """Cosine of each query with each row, ``(m, rows)``.

        One query (the latency-critical case) goes through ``einsum``'s own SIMD loop, not
        BLAS: the product is memory-bound, and OpenBLAS waking its thread pool right after
        an embedding cost more than the product itself (10,000 x 384: 0.85 ms with einsum,
        1 to 8 ms with matmul on 2 busy cores). Batches use BLAS in blocks of rows.
        """
        n = self.rows
        if len(queries) == 1:
            single: Matrix = np.einsum("rd,d->r", self._vectors[:n], queries[0])[None, :]
            return single
        out = np.empty((len(queries), n), dtype=np.float32)
        for start in range(0, n, _ROW_BLOCK):
            stop = min(start + _ROW_BLOCK, n)
            np.matmul(queries, self._vectors[start:stop].T, out=out[:, start:stop])
        return out

    def _row_indices(self, request_id: str) -> npt.NDArray[np.int64]:
        slot = self._slots.get(request_id)
        if slot is None:
            raise KeyError(f"request {request_id!r} is not in the index")
        return np.flatnonzero(self._owner[: self.rows] == slot)

    def _slot_for(self, request_id: str) -> int:
        if request_id in self._slots:
            return self._slots[request_id]
        slot = self._free.pop() if self._free else len(self._slot_ids)
        if slot == len(self._slot_ids):
            self._slot_ids.append(request_id)
        else:
            self._slot_ids[slot] = request_id
        self._slots[request_id] = slot
        return slot

    def _append(self, slot: int, matrix: Matrix, ids: list[str], labels: list[str]) -> None:
        n, k = self.rows, len(matrix)
        if n + k > len(self._vectors):
            capacity = max(2 * len(self._vectors), n + k)
            self._vectors = np.resize(self._vectors, (capacity, self.dim))
            self._owner = np.resize(self._owner, capacity)
            self._seq = np.resize(self._seq, capacity)
        self._vectors[n : n + k] = matrix
        self._owner[n : n + k] = slot
        self._seq[n : n + k] = np.arange(self._next_seq, self._next_seq + k)
        self._next_seq += k
        self._text_ids.extend(ids)
        self._texts.extend(labels)
        self._groups = None

    def _delete_rows(self, rows: npt.NDArray[np.int64]) -> None:
        """Fill the holes with the last surviving rows (O(k), not O(n))."""
        n, doomed = self.rows, set(rows.tolist())
        tail = [i for i in range(n - len(doomed), n) if i not in doomed]
        holes = [i for i in sorted(doomed) if i < n - len(doomed)]
        self._vectors[holes] = self._vectors[tail]
        self._owner[holes] = self._owner[tail]
        self._seq[holes] = self._seq[tail]
        for hole, source in zip(holes, tail, strict=True):
            self._text_ids[hole] = self._text_ids[source]
            self._texts[hole] = self._texts[source]
        del self._text_ids[n - len(doomed) :]
        del self._texts[n - len(doomed) :]
        self._groups = None

    def _first_seq(self) -> npt.NDArray[np.int64]:
        """Per slot, the insertion number of its oldest row (so exports keep request order)."""
        first = np.full(len(self._slot_ids), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, self._owner[: self.rows], self._seq[: self.rows])
        return first

    def text_of(self, request_id: str) -> str:
        """The text of a request's oldest row: its title and description, by convention.

        Args:
            request_id: The request.

        Returns:
            The text (``""`` when none was given).

        Raises:
            KeyError: The request is not indexed.
        """
        if request_id not in self._titles:
            raise KeyError(f"request {request_id!r} is not in the index")
        return self._titles[request_id]

    def _grouping(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str]]:
        """Rows sorted by owner, the start of each owner's run, and the owners' ids."""
        if self._groups is None:
            owners = self._owner[: self.rows]
            order = np.lexsort((self._seq[: self.rows], owners))
            sorted_owners = owners[order]
            starts = np.flatnonzero(np.r_[True, sorted_owners[1:] != sorted_owners[:-1]])
            ids = [self._slot_ids[s] or "" for s in sorted_owners[starts].tolist()]
            self._groups = (order, starts, ids)
        return self._groups

    def _top_hits(
        self,
        best: Matrix,
        ranked: Matrix,
        order: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
        owners: list[str],
        k: int,
    ) -> list[list[Hit]]:
        k = min(k, best.shape[1])
        top = np.argpartition(best, -k, axis=1)[:, -k:]
        ends = np.append(starts[1:], ranked.shape[1])
        hits: list[list[Hit]] = []
        for row, groups in enumerate(top):
            groups = groups[np.argsort(-best[row, groups], kind="stable")]
            ranked_hits = []
            for g in groups.tolist():
                local = int(np.argmax(ranked[row, starts[g] : ends[g]]))
                source = int(order[starts[g] + local])
                ranked_hits.append(
                    Hit(owners[g], float(best[row, g]), self._text_ids[source], self._texts[source])
                )
            hits.append(ranked_hits)
        return hits
