from __future__ import annotations

import pytest

from lifecycle.states import MACHINES, InvalidTransition, machine


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_every_state_is_reachable_from_an_initial_state(name):
    m = machine(name)
    reached = set(m.initial)
    frontier = list(m.initial)
    while frontier:
        for target in m.moves[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == m.states


def test_terminal_states_have_no_moves_and_refuse_any():
    quote = machine("quote")
    assert quote.terminal == {"accepted", "rejected", "expired"}
    with pytest.raises(InvalidTransition):
        quote.check("accepted", "draft")


def test_valid_path_must_start_in_an_initial_state_and_follow_moves():
    order = machine("sales_order")
    assert order.is_valid_path(["pending_approval", "booked", "fulfilled", "invoiced", "closed"])
    assert not order.is_valid_path(["booked", "fulfilled"])
    assert not order.is_valid_path(["pending_approval", "invoiced"])
    assert not machine("opportunity").is_valid_path(["prospecting", "closed_won", "negotiation"])
