"""loadtests: see ARCHITECTURE.md."""
