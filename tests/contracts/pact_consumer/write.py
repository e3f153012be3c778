"""Write the middleware's consumer pacts: ``python -m tests.contracts.pact_consumer.write``.

Runs every scenario (HTTP) and every message against the middleware's own code and
writes one V4 pact per provider into ``contracts/pacts/`` (stale interactions dropped).
The drift test (test_consumer_pacts.py) fails until the committed pacts are rewritten
after a change to the middleware's calls.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from tests.contracts.pact_consumer.examples import CONSUMER
from tests.contracts.pact_consumer.messages import write_message_pacts
from tests.contracts.pact_consumer.scenarios import SCENARIOS, run_scenario

__all__ = ["COMMITTED", "write_pacts"]

COMMITTED = Path(__file__).resolve().parents[3] / "contracts" / "pacts"


def write_pacts(directory: Path) -> dict[str, Exception | None]:
    """Write every pact into ``directory`` (emptied of this consumer's first); the outcomes."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob(f"{CONSUMER}-*.json"):
        old.unlink()
    outcomes = {scenario.name: run_scenario(scenario, directory) for scenario in SCENARIOS}
    write_message_pacts(directory)
    return outcomes


def main() -> int:
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")  # no usage report over the network
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder)
        outcomes = write_pacts(fresh)
        wrong = [w for s in SCENARIOS if (w := s.wrong(outcomes[s.name]))]
        if wrong:
            print("not written, scenarios failed:\n  " + "\n  ".join(wrong), file=sys.stderr)
            return 1
        COMMITTED.mkdir(parents=True, exist_ok=True)
        for old in COMMITTED.glob(f"{CONSUMER}-*.json"):
            old.unlink()
        for pact in sorted(fresh.glob("*.json")):
            shutil.copy(pact, COMMITTED / pact.name)
            print(f"wrote {COMMITTED.name}/{pact.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
