"""scenarios: scenario files (``library/``), the SimPy estate model (``model``), the runner
for replications and sweeps, and their summaries; see ARCHITECTURE.md."""
