"""The list of systems is defined once, in ``lifecycle.systems``, and imported everywhere."""

from __future__ import annotations

import re
from pathlib import Path

from lifecycle.systems import SYSTEMS, SystemName

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("golive", "lifecycle", "simulators", "scenarios", "contracts", "loadtests",
            "examples", "benchmarks")  # fmt: skip
# Five quoted names in a row, in any order: a second copy of the list.
_COPY = re.compile(
    r"""(["'](crm|cpq|billing|support|erp)["'],\s*){4}["'](crm|cpq|billing|support|erp)["']"""
)


def test_systems_are_the_five_in_port_order():
    assert SYSTEMS == ("crm", "cpq", "billing", "support", "erp")
    assert SystemName.__args__ == SYSTEMS


def test_no_module_keeps_its_own_copy_of_the_list():
    copies = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if _COPY.search(path.read_text(encoding="utf-8"))
    ]
    assert copies == ["lifecycle/systems.py"]
