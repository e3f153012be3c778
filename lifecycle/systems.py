"""The five systems of the estate by name, in port order: the one list everything imports.

Light on purpose (no third-party imports): the CLI reads it at start-up.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["SYSTEMS", "SystemName"]

SystemName = Literal["crm", "cpq", "billing", "support", "erp"]
SYSTEMS: tuple[SystemName, ...] = get_args(SystemName)
