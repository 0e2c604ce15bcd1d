"""Mergeable summaries of unbounded sets of values, in memory bounded by a cap.

* :class:`TokenCounts` counts tokens (the vocabulary of a text column): exact while at most
  ``cap`` distinct tokens were seen; beyond, a Misra-Gries summary (Misra and Gries 1982; merged
  as in Agarwal et al., "Mergeable summaries", 2012). Whenever more than ``cap`` counters are
  held, the ``(cap + 1)``-th largest count ``c`` is subtracted from every counter and those that
  reach zero are dropped. Each such step removes at least ``(cap + 1) * c`` from the total and at
  most ``c`` from any one token, so for every token with true count ``f``::

      counts.get(token, 0) <= f <= counts.get(token, 0) + decremented / (cap + 1)

  where ``decremented = total - sum(counts)`` is kept exactly. Summaries of parts merge (counts
  add, then the same step), and the bound holds for the merge; under the cap the merge is exact
  and equals the summary of the whole. Over the cap, which tokens survive may depend on how the
  rows were split into chunks, but never beyond the bound.
* :class:`HashSample` keeps the ``cap`` smallest 64-bit hashes of distinct values with each
  one's exact count (a bottom-k sample of distinct values): a uniform sample of the distinct
  values, merged exactly and in any order, from which the share of rows that repeat a value is
  estimated (exact while at most ``cap`` distinct values were seen).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

DEFAULT_VOCABULARY_CAP = 10_000
"""Distinct tokens counted per text column (exactly up to this many)."""

DEFAULT_HASH_SAMPLE = 10_000
"""Distinct values of an identifier column whose counts are kept."""


def _prune(counts: dict[str, int], cap: int) -> int:
    """One Misra-Gries step in place when more than ``cap`` counters: the mass it subtracted."""
    if len(counts) <= cap:
        return 0
    values = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    # The (cap + 1)-th largest count: position len - cap - 1 in ascending order.
    cut = int(np.partition(values, len(values) - cap - 1)[len(values) - cap - 1])
    subtracted = int(np.minimum(values, cut).sum())
    kept = {k: v - cut for k, v in counts.items() if v > cut}
    counts.clear()
    counts.update(kept)
    return subtracted


@dataclass(frozen=True, eq=False)
class TokenCounts:
    """Counts per token, exact under ``cap`` distinct tokens, Misra-Gries beyond (see module).

    ``total`` is the number of tokens counted (exact); ``decremented`` the mass the Misra-Gries
    steps subtracted (0 while exact).
    """

    counts: Mapping[str, int]
    total: int = 0
    decremented: int = 0
    cap: int = DEFAULT_VOCABULARY_CAP

    @property
    def exact(self) -> bool:
        return self.decremented == 0

    @property
    def error_bound(self) -> float:
        """The most any token's true count can exceed its count here."""
        return self.decremented / (self.cap + 1)

    def top(self, k: int | None = None) -> list[tuple[str, int]]:
        """The ``k`` most frequent tokens (all when None), ties broken by token."""
        ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked if k is None else ranked[:k]

    @classmethod
    def from_counts(
        cls, counts: Mapping[str, int], *, cap: int = DEFAULT_VOCABULARY_CAP
    ) -> TokenCounts:
        """From exact counts (a ``collections.Counter``), pruned to the cap."""
        held = {str(k): int(v) for k, v in counts.items() if v > 0}
        total = sum(held.values())
        return cls(held, total, _prune(held, cap), cap)

    def merge(self, other: TokenCounts) -> TokenCounts:
        cap = min(self.cap, other.cap)
        big, small = (self, other) if len(self.counts) >= len(other.counts) else (other, self)
        counts = dict(big.counts)
        for key, value in small.counts.items():
            counts[key] = counts.get(key, 0) + value
        decremented = self.decremented + other.decremented + _prune(counts, cap)
        return TokenCounts(counts, self.total + other.total, decremented, cap)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.top()),
            "total": self.total,
            "decremented": self.decremented,
            "cap": self.cap,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenCounts:
        return cls(
            {str(k): int(v) for k, v in data["counts"].items()},
            int(data["total"]),
            int(data["decremented"]),
            int(data["cap"]),
        )


class Tally:
    """Streaming token counting for one profile call: exact counters pruned at twice the cap.

    Pruning only when twice the cap is reached keeps the per-chunk work low; :meth:`done` prunes
    to the cap, so the result is a valid :class:`TokenCounts` with the same bound.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.counts: dict[str, int] = {}
        self.total = 0
        self.decremented = 0

    def add(self, batch: Mapping[str, int], size: int) -> None:
        counts = self.counts
        if not counts:
            counts.update(batch)
        else:
            for key, value in batch.items():
                counts[key] = counts.get(key, 0) + value
        self.total += size
        if len(counts) > 2 * self.cap:
            self.decremented += _prune(counts, self.cap)

    def done(self) -> TokenCounts:
        self.decremented += _prune(self.counts, self.cap)
        return TokenCounts(self.counts, self.total, self.decremented, self.cap)


@dataclass(frozen=True, eq=False)
class HashSample:
    """The ``cap`` smallest 64-bit hashes of distinct values, each with its exact row count.

    ``rows`` counts every value seen; ``truncated`` says whether distinct values were left out
    (then the kept ones are a uniform sample of the distinct values).
    """

    counts: Mapping[int, int]
    rows: int = 0
    truncated: bool = False
    cap: int = DEFAULT_HASH_SAMPLE

    @property
    def sampled_rows(self) -> int:
        return int(sum(self.counts.values()))

    @property
    def duplicate_rows(self) -> int:
        """Rows of the sampled values that repeat an earlier row's value."""
        return int(sum(c - 1 for c in self.counts.values()))

    @property
    def duplicate_share(self) -> float:
        """Share of rows repeating another row's value (exact unless ``truncated``)."""
        sampled = self.sampled_rows
        return self.duplicate_rows / sampled if sampled else 0.0

    @classmethod
    def from_hashes(
        cls, hashes: npt.NDArray[np.uint64], *, cap: int = DEFAULT_HASH_SAMPLE
    ) -> HashSample:
        values, counts = np.unique(hashes, return_counts=True)
        truncated = values.size > cap
        kept = dict(zip(values[:cap].tolist(), counts[:cap].tolist(), strict=True))
        return cls(kept, int(hashes.size), truncated, cap)

    def merge(self, other: HashSample) -> HashSample:
        cap = min(self.cap, other.cap)
        counts = dict(self.counts)
        for key, value in other.counts.items():
            counts[key] = counts.get(key, 0) + value
        truncated = self.truncated or other.truncated or len(counts) > cap
        if len(counts) > cap:
            counts = {k: counts[k] for k in sorted(counts)[:cap]}
        return HashSample(counts, self.rows + other.rows, truncated, cap)

    def to_dict(self) -> dict[str, Any]:
        keys = sorted(self.counts)
        return {
            "hashes": keys,
            "counts": [self.counts[k] for k in keys],
            "rows": self.rows,
            "truncated": self.truncated,
            "cap": self.cap,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HashSample:
        hashes: Iterable[Any] = data["hashes"]
        counts = dict(zip((int(h) for h in hashes), (int(c) for c in data["counts"]), strict=True))
        return cls(counts, int(data["rows"]), bool(data["truncated"]), int(data["cap"]))


@dataclass(frozen=True, eq=False)
class TokenSample:
    """A bottom-k sample of distinct tokens (by a fixed 64-bit hash) with exact counts per half.

    ``counts`` maps a token's hash to ``(token, count in half A, count in half B)``. Every token
    is in the sample with the same probability :attr:`inclusion` (1 while at most ``cap``
    distinct tokens were seen), and a sampled token's counts are exact, so sums over rare tokens
    (those outside a vocabulary, those one half never saw) are estimated without bias by
    dividing by it (Horvitz-Thompson); merges are exact and order-free, like
    :class:`HashSample`.
    """

    counts: Mapping[int, tuple[str, int, int]]
    truncated: bool = False
    cap: int = DEFAULT_VOCABULARY_CAP

    @property
    def inclusion(self) -> float:
        """The probability that any one distinct token is in the sample."""
        if not self.truncated or not self.counts:
            return 1.0
        return (max(self.counts) + 1) / 2.0**64

    @classmethod
    def build(
        cls,
        halves: tuple[Mapping[str, int], Mapping[str, int]],
        *,
        cap: int = DEFAULT_VOCABULARY_CAP,
    ) -> TokenSample:
        """From exact token counts of the two halves of a batch."""
        import pandas as pd

        tokens = list(set(halves[0]) | set(halves[1]))
        if not tokens:
            return cls({}, False, cap)
        hashes = pd.util.hash_array(np.array(tokens, dtype=object), categorize=False)
        order = np.argsort(hashes, kind="stable")[:cap]
        a, b = halves
        counts = {
            int(hashes[i]): (tokens[i], int(a.get(tokens[i], 0)), int(b.get(tokens[i], 0)))
            for i in order.tolist()
        }
        return cls(counts, len(tokens) > cap, cap)

    def merge(self, other: TokenSample) -> TokenSample:
        cap = min(self.cap, other.cap)
        counts = dict(self.counts)
        for key, (token, a, b) in other.counts.items():
            held = counts.get(key)
            counts[key] = (token, a, b) if held is None else (token, held[1] + a, held[2] + b)
        truncated = self.truncated or other.truncated or len(counts) > cap
        if len(counts) > cap:
            counts = {k: counts[k] for k in sorted(counts)[:cap]}
        return TokenSample(counts, truncated, cap)

    def to_dict(self) -> dict[str, Any]:
        keys = sorted(self.counts)
        return {
            "hashes": keys,
            "tokens": [self.counts[k][0] for k in keys],
            "a": [self.counts[k][1] for k in keys],
            "b": [self.counts[k][2] for k in keys],
            "truncated": self.truncated,
            "cap": self.cap,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSample:
        rows = zip(data["hashes"], data["tokens"], data["a"], data["b"], strict=True)
        counts = {int(h): (str(t), int(a), int(b)) for h, t, a, b in rows}
        return cls(counts, bool(data["truncated"]), int(data["cap"]))
