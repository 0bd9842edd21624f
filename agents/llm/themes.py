"""Recurring themes among feedback texts: average-linkage clustering in plain numpy.

Texts are embedded, then clusters merge greedily while the average cosine similarity
between two clusters stays above a threshold. The process is deterministic (ties go
to the lowest index). Each theme is named by its most central text, the member with
the highest mean similarity to the other members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from agents.embedders import Embedder
from agents.llm.text import clip
from agents.llm.vectors import embed_texts

__all__ = ["Theme", "cluster", "find_themes"]

MAX_TEXTS = 400
"""Texts beyond this many are ignored (the merge loop is cubic in the worst case)."""


@dataclass(frozen=True)
class Theme:
    """A group of similar texts.

    Attributes:
        name: The most central text of the group, shortened to 80 characters.
        members: Indices of the texts in the group, ascending.
        cohesion: Mean similarity of the members to the named text (1.0 for one member).
    """

    name: str
    members: tuple[int, ...]
    cohesion: float

    @property
    def size(self) -> int:
        """How many texts the theme groups."""
        return len(self.members)


def cluster(vectors: npt.NDArray[np.float32], threshold: float) -> list[list[int]]:
    """Group normalised rows by average-linkage agglomerative clustering.

    Args:
        vectors: L2-normalised rows, shape ``(n, dim)``.
        threshold: Minimum average cosine similarity for two clusters to merge.

    Returns:
        Clusters as ascending index lists, largest first (ties by first index).
    """
    n = vectors.shape[0]
    if n == 0:
        return []
    linkage = (vectors @ vectors.T).astype(np.float64)
    np.fill_diagonal(linkage, -np.inf)
    groups: dict[int, list[int]] = {i: [i] for i in range(n)}
    while len(groups) > 1:
        flat = int(np.argmax(linkage))
        a, b = divmod(flat, n)
        if linkage[a, b] < threshold:
            break
        a, b = min(a, b), max(a, b)
        size_a, size_b = len(groups[a]), len(groups[b])
        merged = (size_a * linkage[a] + size_b * linkage[b]) / (size_a + size_b)
        linkage[a, :], linkage[:, a] = merged, merged
        linkage[b, :], linkage[:, b] = -np.inf, -np.inf
        linkage[a, a] = -np.inf
        groups[a] = sorted(groups[a] + groups.pop(b))
    return sorted(groups.values(), key=lambda members: (-len(members), members[0]))


async def find_themes(
    texts: Sequence[str],
    *,
    embedder: Embedder | None = None,
    threshold: float = 0.5,
    min_size: int = 2,
) -> list[Theme]:
    """Find groups of similar texts and name each by its most central text.

    Args:
        texts: Plain texts, e.g. feedback linked to an area's requests.
        embedder: Embeds the texts: pass the app's; ``None`` means the offline local
            model (``get_embedder("local")``, built once). Should it fail, the local
            model stands in (see :func:`~agents.llm.vectors.embed_texts`).
        threshold: Minimum average similarity inside a theme; depends on the embedder.
        min_size: Smallest group reported as a theme.

    Returns:
        Themes, largest first; none when no embedder could embed the texts (logged as
        a warning).
    """
    kept = [text for text in texts[:MAX_TEXTS] if text.strip()]
    index = [i for i, text in enumerate(texts[:MAX_TEXTS]) if text.strip()]
    if len(kept) < min_size:  # no theme possible: spare loading a model
        return []
    vectors = await embed_texts(embedder, kept)
    if vectors is None:
        return []
    themes = []
    for group in cluster(vectors, threshold):
        if len(group) < min_size:
            continue
        centre, cohesion = _medoid(vectors, group)
        members = tuple(index[i] for i in group)
        themes.append(Theme(clip(kept[centre], 80), members, round(cohesion, 4)))
    return themes


def _medoid(vectors: npt.NDArray[np.float32], group: list[int]) -> tuple[int, float]:
    if len(group) == 1:
        return group[0], 1.0
    block = vectors[group] @ vectors[group].T
    mean = (block.sum(axis=1) - np.diag(block)) / (len(group) - 1)
    best = int(np.argmax(mean))
    return group[best], float(mean[best])
