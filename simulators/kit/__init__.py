"""Machinery every simulator shares: auth, errors, store, events, journal, clock, control plane.

A new simulator is mostly a ``state.py`` (its objects and rules) and a thin ``app.py``.
"""
