"""A run: its suite, the backends answers come from, the runner that scores and stores them, its
record and progress."""
