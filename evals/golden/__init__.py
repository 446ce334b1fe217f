"""Golden sets: the SHA-pinned examples a run is scored against."""
