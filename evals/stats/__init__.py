"""goldgate's statistics: every number the tools print comes with its uncertainty from here."""

from evals.stats.bootstrap import BootstrapResult, bootstrap_ci, bootstrap_distribution

__all__ = ["BootstrapResult", "bootstrap_ci", "bootstrap_distribution"]
