"""Which examples a run takes: all, the first N (`--limit`), or a reproducible stratified sample
(`--sample N --stratify KEY --seed S`, 08 §15.4) that keeps the full set's slice proportions, so an
inner-loop run on 100 examples does not iterate on the head and find the tail's regressions last.

A subset is part of what a run measured: it is stored in the run's settings, and compare and gate
pair only runs on the same one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from evals.errors import EvalInputError
from evals.golden.dataset import Example, GoldenSet

UNLABELLED = "(unlabelled)"  # the stratum of examples without the stratify label


@dataclass(frozen=True)
class Subset:
    limit: int | None = None
    sample: int | None = None
    stratify: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for flag, n in (("--limit", self.limit), ("--sample", self.sample)):
            if n is not None and n < 1:
                raise EvalInputError("must be a positive number of examples", field=flag)
        if self.limit is not None and self.sample is not None:
            raise EvalInputError("takes either the first N examples (--limit) or a sample (--sample), not both",
                                 field="--sample")
        if self.sample is None and (self.stratify is not None or self.seed != 0):
            raise EvalInputError("--stratify and --seed choose a sample: give --sample N too",
                                 field="--stratify" if self.stratify is not None else "--seed")

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Subset:
        """A stored run's subset (runs stored before sampling existed carry only `limit`)."""
        return cls(limit=settings.get("limit"), **(settings.get("sample") or {}))

    def settings(self) -> dict[str, Any]:
        sample = {k: v for k, v in asdict(self).items() if k != "limit"}
        return {"limit": self.limit, "sample": sample if self.sample is not None else None}

    def describe(self) -> str:
        if self.sample is not None:
            by = f" stratified by {self.stratify}" if self.stratify else ""
            return f"a sample of {self.sample}{by} (seed {self.seed})"
        return f"the first {self.limit}" if self.limit is not None else "every example"

    def select(self, golden: GoldenSet) -> tuple[Example, ...]:
        if self.sample is None:
            return golden.examples if self.limit is None else golden.examples[:self.limit]
        if self.sample > len(golden):
            raise EvalInputError(f"asks for {self.sample} examples; {golden.path} has {len(golden)}", field="--sample")
        strata = _strata(golden, self.stratify)
        chosen: set[str] = set()
        for key, n in quotas({k: len(v) for k, v in strata.items()}, self.sample).items():
            chosen.update(sorted((ex.id for ex in strata[key]), key=lambda i: _rank(self.seed, i))[:n])
        return tuple(ex for ex in golden.examples if ex.id in chosen)  # the set's own order


def quotas(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Split n over strata in proportion to their sizes by largest remainder (Hamilton): each quota is
    its exact share rounded down or up, so every stratum is within one example of proportional."""
    total = sum(sizes.values())
    exact = {k: n * size / total for k, size in sizes.items()}
    out = {k: int(share) for k, share in exact.items()}
    by_remainder = sorted(sizes, key=lambda k: (-(exact[k] - out[k]), k))
    for k in by_remainder[:n - sum(out.values())]:
        out[k] += 1
    return out


def _strata(golden: GoldenSet, key: str | None) -> dict[str, list[Example]]:
    if key is None:
        return {"all": list(golden.examples)}
    strata: dict[str, list[Example]] = defaultdict(list)
    for ex in golden.examples:
        strata[ex.labels.get(key, UNLABELLED)].append(ex)
    if set(strata) == {UNLABELLED}:
        raise EvalInputError(f"no example in {golden.path} has the label {key!r}", field="--stratify")
    return strata


def _rank(seed: int, example_id: str) -> bytes:
    """A seeded order that depends on nothing but the seed and the id (not on Python's RNG or the file's order)."""
    return hashlib.sha256(f"{seed}\0{example_id}".encode()).digest()
