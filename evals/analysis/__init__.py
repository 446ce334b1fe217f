"""What the stored results say: a run's report, two runs compared, and the gate's checks."""
