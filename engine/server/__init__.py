"""The OpenAI-compatible HTTP server over the asynchronous engine."""
