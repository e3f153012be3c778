from __future__ import annotations

from loadtests.auth import TokenCache


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_is_reused_then_renewed_before_it_expires():
    clock, fetched = _Clock(), []

    def fetch(system: str) -> tuple[str, float]:
        fetched.append(system)
        return f"{system}-token-{len(fetched)}", 3600.0

    tokens = TokenCache(fetch, clock)
    assert tokens.get("crm") == "crm-token-1"
    clock.now += 3500  # 100 s before expiry: still fresh
    assert tokens.get("crm") == "crm-token-1"
    clock.now += 45  # inside the 60 s margin: renewed before the server would refuse it
    assert tokens.get("crm") == "crm-token-2"
    assert fetched == ["crm", "crm"]


def test_each_system_has_its_own_token_and_a_refused_one_is_dropped():
    clock = _Clock()
    tokens = TokenCache(lambda s: (f"{s}-{clock.now}", 3600.0), clock)
    assert tokens.get("crm") != tokens.get("erp")
    first = tokens.get("crm")
    clock.now += 1
    tokens.drop("crm")
    assert tokens.get("crm") != first


def test_short_lived_tokens_are_renewed_at_ninety_percent():
    clock = _Clock()
    tokens = TokenCache(lambda s: (f"t{clock.now}", 10.0), clock)
    first = tokens.get("cpq")
    clock.now += 8.9
    assert tokens.get("cpq") == first
    clock.now += 0.2
    assert tokens.get("cpq") != first
