"""A calibration and a bias probe on the terminal: the numbers a team reads before trusting a judge."""

from __future__ import annotations

import json
from dataclasses import asdict

from rich.console import Console
from rich.table import Table

from evals.judges.calibration import DimensionReport
from evals.judges.judge import Judge
from evals.judges.probes import LengthBias, PositionBias
from evals.store.store import json_safe


def _num(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{x:.3f}"


def print_calibration(calibration_id: str, judge: Judge, reports: list[DimensionReport]) -> None:
    console = Console()
    console.print(f"[bold]{calibration_id}[/bold]: judge {judge.judge_id} (sha256 {judge.prompt.sha256[:12]}) "
                  f"on {judge.backend.model_id}")
    for r in reports:
        table = Table("", "", title=f"{r.dimension}: judge against human labels", title_justify="left",
                      show_header=False)
        inter = ", ".join(f"{p['a']}~{p['b']} {_num(p['kappa'])}" for p in r.inter_rater) or "n/a (one rater)"
        for name, value in (
                ("items (judged, with a consensus)", str(r.n_items)),
                ("judge parse failures", str(r.parse_errors)),
                ("kappa vs consensus", f"{_num(r.kappa)} [{_num(r.kappa_low)}, {_num(r.kappa_high)}] ({r.band})"),
                ("weighted kappa (quadratic)", _num(r.weighted_kappa)),
                ("Krippendorff's alpha, raters and judge", _num(r.alpha)),
                ("kappa on the hard slice / the rest", f"{_num(r.hard['hard']['kappa'])} (n={r.hard['hard']['n']}) / "
                                                       f"{_num(r.hard['rest']['kappa'])} (n={r.hard['rest']['n']})"),
                ("judge vs each rater", ", ".join(f"{k} {_num(v)}" for k, v in r.judge_vs_rater.items())),
                ("between raters", inter),
                ("marginals", "; ".join(f"{k} {dict(sorted(v.items()))}" for k, v in r.marginals.items())),
                ("confusion (rows judge, columns consensus)", f"{r.confusion['labels']} {r.confusion['matrix']}"),
                ("disagreements", f"{len(r.disagreements)} (in the store, table calibrations)"),
                ("verdict", f"[bold]{r.verdict}[/bold]")):
            table.add_row(name, value)
        console.print(table)


def print_probes(length: LengthBias, position: PositionBias) -> None:
    console = Console()
    console.print(f"length bias: overall {length.mean_original:.3f} as given, {length.mean_padded:.3f} padded; "
                  f"difference {length.difference:+.3f} [{length.low:+.3f}, {length.high:+.3f}] (N={length.n})")
    console.print(f"position bias: the answer shown first wins {position.first_wins:.3f} of decisive verdicts "
                  f"[{position.low:.3f}, {position.high:.3f}] (N={position.n}; 0.5 is unbiased); "
                  f"position consistency {position.consistency:.3f}")
    console.print_json(json.dumps(json_safe({"length_bias": asdict(length), "position_bias": asdict(position)})))
