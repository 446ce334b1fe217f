"""goldgate's statistics: every number the tools print comes with its uncertainty from here.

Shaped like scipy.stats: data first, options keyword-only, an explicit seed, frozen results. Import
from the module that holds each (`evals.stats.bootstrap`, `.paired`, `.agreement`, `.power`): a run's
report needs only the bootstrap, and so does not pay for scipy.stats and scipy.optimize.
"""
