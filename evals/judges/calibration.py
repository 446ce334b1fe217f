"""Can a judge be trusted? Its agreement with human raters, per rubric dimension, beside the raters'
agreement with each other, with the verdict the team acts on."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any, Sequence

from evals.judges.judge import Judgment
from evals.judges.labels import HumanLabel
from evals.judges.spec import Scale
from evals.stats.agreement import cohen_kappa, interpret_kappa, item_bootstrap, krippendorff_alpha
from evals.stats.agreement import GATING_KAPPA

RELATIVE = 0.4  # below the gating kappa a judge may still compare systems, down to this; below it, do not use


def verdict(kappa: float) -> str:
    if kappa != kappa or kappa < RELATIVE:  # NaN: no chance-corrected agreement can be computed
        return "not usable"
    return "usable for gating" if kappa >= GATING_KAPPA else "relative comparisons only"


def raters_disagree(report: "DimensionReport") -> str | None:
    """When people agree with each other less than a judge would need to agree with them to be of any use
    (kappa under 0.4 for a pair of raters), the rubric is the problem, not the judge: no calibration
    against such labels means anything (08 §4.4, §6.5)."""
    for pair in report.inter_rater:
        if pair["kappa"] is not None and pair["kappa"] < RELATIVE:
            return (f"raters {pair['a']} and {pair['b']} disagree among themselves on {report.dimension!r} "
                    f"(Cohen's kappa {pair['kappa']:.2f}, under {RELATIVE}): the rubric, not the judge, is the problem")
    return None


def consensus(labels: Sequence[str]) -> str | None:
    """The majority label; None on a tie (such items are left out of judge-vs-consensus)."""
    (top, n), *rest = Counter(labels).most_common()
    return None if rest and rest[0][1] == n else top


def _kappa(a: Sequence[str], b: Sequence[str], labels: list[str], weights: str | None = None) -> float | None:
    return cohen_kappa(a, b, labels=labels, weights=weights) if len(a) >= 2 else None


@dataclass(frozen=True)
class DimensionReport:
    dimension: str
    raters: list[str]
    n_items: int  # items with a consensus and a parsed judge score
    parse_errors: int
    marginals: dict[str, dict[str, int]]  # per rater and "judge": label -> count
    inter_rater: list[dict[str, Any]]  # pairwise kappa between raters
    judge_vs_rater: dict[str, float | None]
    kappa: float  # judge vs consensus
    kappa_low: float
    kappa_high: float
    weighted_kappa: float | None  # quadratic, for ordinal scales
    alpha: float | None  # Krippendorff's alpha over raters and judge
    confusion: dict[str, Any]  # rows: judge label, columns: consensus label
    hard: dict[str, Any]  # kappa on the hard slice beside the rest
    disagreements: list[dict[str, str]]
    band: str
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibrate_dimension(dimension: str, scale: Scale, judgments: Sequence[Judgment], labels: Sequence[HumanLabel],
                        hard_ids: set[str], *, seed: int = 0) -> DimensionReport:
    levels = [str(v) for v in range(scale.min, scale.max + 1)]
    by_rater: dict[str, dict[str, str]] = {}
    for lab in labels:
        if lab.dimension == dimension:
            by_rater.setdefault(lab.rater, {})[lab.example_id] = lab.label
    raters = sorted(by_rater)
    judged = {j.example_id: j for j in judgments}
    judge = {i: str(j.verdict.scores[dimension]) for i, j in judged.items() if j.verdict.outcome == "scored"}
    items = sorted({i for r in by_rater.values() for i in r} & judged.keys())
    agreed = {i: consensus([by_rater[r][i] for r in raters if i in by_rater[r]]) for i in items}
    rows = [i for i in items if i in judge and agreed[i] is not None]
    judge_col, cons_col = [judge[i] for i in rows], [agreed[i] for i in rows]
    ci = item_bootstrap(cohen_kappa, judge_col, cons_col, labels=levels, seed=seed) if len(rows) >= 2 else None
    kappa = ci.estimate if ci else float("nan")

    def pair(a: dict[str, str], b: dict[str, str]) -> tuple[list[str], list[str]]:
        shared = sorted(a.keys() & b.keys())
        return [a[i] for i in shared], [b[i] for i in shared]

    hard = {name: [i for i in rows if (i in hard_ids) == want] for name, want in (("hard", True), ("rest", False))}
    return DimensionReport(
        dimension=dimension, raters=raters, n_items=len(rows),
        parse_errors=sum(judged[i].verdict.outcome != "scored" for i in items),
        marginals={**{r: dict(Counter(by_rater[r].values())) for r in raters}, "judge": dict(Counter(judge.values()))},
        inter_rater=[{"a": a, "b": b, "kappa": _kappa(*pair(by_rater[a], by_rater[b]), levels)}
                     for a, b in combinations(raters, 2)],
        judge_vs_rater={r: _kappa(*pair(judge, by_rater[r]), levels) for r in raters},
        kappa=kappa, kappa_low=ci.low if ci else float("nan"), kappa_high=ci.high if ci else float("nan"),
        weighted_kappa=_kappa(judge_col, cons_col, levels, "quadratic") if scale.ordinal else None,
        alpha=_alpha([*by_rater.values(), judge], items, "ordinal" if scale.ordinal else "nominal"),
        confusion={"labels": levels, "matrix": [[sum(1 for j, c in zip(judge_col, cons_col) if (j, c) == (a, b))
                                                 for b in levels] for a in levels]},
        hard={name: {"n": len(ids), "kappa": _kappa([judge[i] for i in ids], [agreed[i] for i in ids], levels)}
              for name, ids in hard.items()},
        disagreements=[{"example_id": i, "judge": judge[i], "consensus": agreed[i],
                        "rationale": judged[i].verdict.rationale} for i in rows if judge[i] != agreed[i]],
        band=interpret_kappa(kappa), verdict=verdict(kappa))


def _alpha(columns: list[dict[str, str]], items: list[str], level: str) -> float | None:
    data = [[int(c[i]) if i in c else None for i in items] for c in columns]
    try:
        return krippendorff_alpha(data, level=level)
    except ValueError:  # no item rated twice
        return None
