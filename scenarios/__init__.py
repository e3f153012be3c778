"""scenarios: see ARCHITECTURE.md."""
