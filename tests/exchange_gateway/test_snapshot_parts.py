"""A big holdings snapshot is published as parts that each fit a JetStream message."""

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from services.exchange_gateway.domain.snapshot_parts import snapshot_parts
from shared.contracts import ExternalPosition, ExternalPositionsSnapshot, utcnow

NOW = utcnow()


def snapshot(pads: list[int]) -> ExternalPositionsSnapshot:
    positions = tuple(ExternalPosition(venue="kalshi", account="a", instrument_id=f"KX-{i}", outcome="yes",
                                       quantity=D(i + 1), raw={"pad": "x" * pad}) for i, pad in enumerate(pads))
    return ExternalPositionsSnapshot(event_id="snap-1", venue="kalshi", account="a", snapshot_time=NOW, complete=True,
                                     positions=positions)


@given(pads=st.lists(st.integers(0, 3000), max_size=60), budget=st.integers(500, 20_000))
def test_parts_hold_every_position_once_in_order_each_within_the_budget(pads, budget):
    whole = snapshot(pads)
    parts = snapshot_parts(whole, budget)
    assert tuple(p for part in parts for p in part.positions) == whole.positions
    if len(parts) == 1:
        assert parts == [whole]
        return
    assert [(p.part, p.parts, p.snapshot_id) for p in parts] == [(i, len(parts), "snap-1") for i in range(len(parts))]
    assert all((p.venue, p.account, p.snapshot_time, p.complete) == ("kalshi", "a", NOW, True) for p in parts)
    for part in parts:  # over budget only when a single holding is bigger than the budget itself
        size = sum(len(p.model_dump_json()) for p in part.positions)
        assert size <= budget or len(part.positions) == 1
    # The same snapshot cut again gives the same ids: a republished part is a duplicate JetStream drops.
    assert [p.event_id for p in snapshot_parts(whole, budget)] == [p.event_id for p in parts]
    assert len({p.event_id for p in parts}) == len(parts)


def test_a_snapshot_that_fits_is_published_as_it_is():
    whole = snapshot([10, 10])
    assert snapshot_parts(whole) == [whole]
