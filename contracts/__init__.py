"""contracts: see ARCHITECTURE.md."""
