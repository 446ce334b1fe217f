"""The CLI's exit codes, a contract CI systems rely on: 1 means only that a real problem was found (the
gate's regression), so neither bad input nor a defect of goldgate itself may ever read as one."""

EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT, EXIT_DEFECT = 0, 1, 2, 3
EXIT_ALERT = EXIT_GATE_FAILED  # `slo check`: an alert holds, the same kind of real problem
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports it
