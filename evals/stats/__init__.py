"""goldgate's statistics: every number the tools print comes with its uncertainty from here.

Shaped like scipy.stats: data first, options keyword-only, an explicit seed, frozen results.
"""

from evals.stats.agreement import cohen_kappa, fleiss_kappa, interpret_kappa, item_bootstrap, krippendorff_alpha
from evals.stats.bootstrap import BootstrapResult, bootstrap_ci, bootstrap_distribution
from evals.stats.paired import McNemarResult, PairedBootstrapResult, mcnemar, paired_bootstrap, paired_bootstrap_by_slice
from evals.stats.power import NoiseFloor, bonferroni, holm, min_detectable_effect, noise_floor, pass_at_k, sample_size

__all__ = [
    "BootstrapResult", "McNemarResult", "NoiseFloor", "PairedBootstrapResult", "bonferroni", "bootstrap_ci",
    "bootstrap_distribution", "cohen_kappa", "fleiss_kappa", "holm", "interpret_kappa", "item_bootstrap",
    "krippendorff_alpha", "mcnemar", "min_detectable_effect", "noise_floor", "paired_bootstrap",
    "paired_bootstrap_by_slice", "pass_at_k", "sample_size",
]
