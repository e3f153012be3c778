"""pytest plugin (entry point ``pytest11``): the simulated estate as fixtures.

Cheap to import: the simulators are imported only when a fixture is used.
"""

from __future__ import annotations
