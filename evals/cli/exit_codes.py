"""The CLI's exit codes, a contract CI systems rely on (../shared/DESIGN.md)."""

EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT = 0, 1, 2
