"""LLM judges: judge prompts run on any backend, their verdicts parsed strictly and stored as scores,
calibrated against people."""
