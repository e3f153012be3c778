"""Live scenarios: a scenario file driven against the simulators and a real middleware
(``golive scenario run NAME --mode live``; docs/live-scenarios.md)."""
