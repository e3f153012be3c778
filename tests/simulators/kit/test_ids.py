"""The id stream: prefixed, reproducible from the seed, never repeating, one integer of state."""

from __future__ import annotations

from lifecycle.ids import IdFactory
from simulators.kit.ids import IdSequence


def test_ids_are_prefixed_and_reproducible_from_the_seed():
    first, again = IdSequence(7), IdSequence(7)
    drawn = [first.new("account") for _ in range(5)]
    assert drawn == [again.new("account") for _ in range(5)]
    assert all(i.startswith("acc_") and len(i) == 20 for i in drawn)
    assert IdSequence(8).new("account") != drawn[0]


def test_the_position_is_the_whole_state_of_the_stream():
    stream = IdSequence(3)
    stream.new("invoice")
    at = stream.position
    drawn = [stream.new("invoice") for _ in range(3)]
    stream.position = at  # as a rolled-back transaction puts it back
    assert [stream.new("invoice") for _ in range(3)] == drawn
    stream.reset()
    assert stream.position == 0


def test_ids_never_repeat_and_differ_from_the_generators_stream():
    stream = IdSequence(0)
    drawn = {stream.new("case")[5:] for _ in range(50_000)}
    assert len(drawn) == 50_000
    generated = IdFactory(0)
    assert stream.new("case") != generated.new("case")
