"""The DuckDB store, the only place that speaks SQL: runs, results, scores, judgments, labels,
calibrations, spans and the generation cache."""
