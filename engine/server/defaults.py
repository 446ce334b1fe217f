"""The server's body limit by default, importable without the web stack (the CLI shows it in `--help`)."""

MAX_BODY_BYTES = 4 * 1024 * 1024  # far above a full context window of text, far below a stall
