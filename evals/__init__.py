"""The eval harness and the `goldgate` command line."""
