"""Calibration of the simulated model from a live run's raw folder (docs/calibration.md)."""

from scenarios.calibration.build import Calibration, CalibrationProblem, calibrate, live_latency

__all__ = ["Calibration", "CalibrationProblem", "calibrate", "live_latency"]
