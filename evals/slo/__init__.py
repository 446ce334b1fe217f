"""Service level objectives over stored spans and results: their specs, SLIs, error budgets and burn-rate
alerts, and the Prometheus rules that watch the same objectives live."""
