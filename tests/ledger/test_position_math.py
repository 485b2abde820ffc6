"""Position math: one unit case per rule, then properties against an independent cash oracle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ledger.domain.fold import Reversal, fold_history, fold_positions, reversal_of
from services.ledger.domain.positions import PositionKey, apply_fill, settle, value
from shared.contracts import Fill, Mark, SettlementRecorded, deterministic_id

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fill(fill_id, side, qty, price, *, venue="kalshi", inst="K1", outcome="yes", fee="0", status="confirmed", t=0):
    return Fill(
        event_id=deterministic_id(venue, fill_id, status), venue=venue, account="a", fill_id=fill_id,
        instrument_id=inst, outcome=outcome, side=side, quantity=D(qty), price=D(price), fee=D(fee),
        status=status, executed_at=T0 + timedelta(seconds=t),
    )


def settlement(result, *, venue="kalshi", inst="K1", value=None, fees="0", t=100, yes_token=None, no_token=None):
    return SettlementRecorded(
        event_id=deterministic_id(venue, "settlement", "a", inst), venue=venue, account="a", instrument_id=inst,
        yes_token_id=yes_token, no_token_id=no_token, result=result, value=None if value is None else D(value),
        yes_count=D(0), no_count=D(0), yes_cost=D(0), no_cost=D(0), revenue=D(0), fees=D(fees),
        settled_at=T0 + timedelta(seconds=t),
    )


def mark(mid, inst="K1", venue="kalshi"):
    return Mark(venue=venue, instrument_id=inst, mid=D(mid), as_of=T0)


# ---- unit rules -------------------------------------------------------------------------------

def test_buys_average_and_raise_cost_basis():
    (p,) = apply_fill(None, fill("f1", "buy", "10", "0.40", fee="0.07"))
    (p,) = apply_fill(p, fill("f2", "buy", "30", "0.60", t=1))
    assert (p.outcome, p.quantity, p.avg_price, p.cost_basis) == ("yes", D(40), D("0.55"), D("22.00"))
    assert p.fees == D("0.07") and p.realized_pnl == D("-0.07")  # buy fee charged to realized when paid
    assert p.status == "open" and p.opened_at == T0


def test_sell_realizes_against_average_and_zero_closes():
    (p,) = apply_fill(None, fill("f1", "buy", "10", "0.40"))
    (p,) = apply_fill(p, fill("f2", "sell", "4", "0.55", fee="0.02", t=5))
    assert (p.quantity, p.cost_basis, p.realized_pnl) == (D(6), D("2.40"), D("0.60") - D("0.02"))
    (p,) = apply_fill(p, fill("f3", "sell", "6", "0.30", t=9))
    assert p.quantity == 0 and p.status == "closed" and p.closed_at == T0 + timedelta(seconds=9)
    assert p.realized_pnl == D("0.58") - D("0.60")


def test_kalshi_yes_sell_beyond_holding_flips_to_no_at_complement():
    (p,) = apply_fill(None, fill("f1", "buy", "5", "0.30"))
    closed, reopened = apply_fill(p, fill("f2", "sell", "8", "0.45", fee="0.03", t=1))
    assert closed.key == PositionKey("kalshi", "K1", "yes") and closed.status == "closed"
    assert closed.realized_pnl == 5 * (D("0.45") - D("0.30")) - D("0.03")  # the flipping fee closes
    assert reopened.key == PositionKey("kalshi", "K1", "no") and reopened.status == "open"
    assert (reopened.quantity, reopened.avg_price, reopened.cost_basis) == (D(3), D("0.55"), D("1.65"))
    assert reopened.realized_pnl == 0 and reopened.fees == 0


def test_kalshi_yes_buy_against_no_holding_is_a_no_sell():
    (p,) = apply_fill(None, fill("f1", "sell", "10", "0.20"))  # from flat: NO 10 @ 0.80
    assert (p.outcome, p.avg_price) == ("no", D("0.80"))
    (p,) = apply_fill(p, fill("f2", "buy", "4", "0.10", t=1))  # NO sold at 0.90
    assert (p.outcome, p.quantity, p.realized_pnl) == ("no", D(6), 4 * D("0.10"))


def test_polymarket_sell_never_flips_and_oversell_is_flagged():
    (p,) = apply_fill(None, fill("p1", "buy", "5", "0.5", venue="polymarket", inst="T1"))
    (p,) = apply_fill(p, fill("p2", "sell", "7", "0.6", venue="polymarket", inst="T1", t=1))
    assert p.status == "closed" and p.quantity == 0 and p.unmatched_sold == 2
    assert p.realized_pnl == 5 * D("0.1") + 2 * D("0.6")


def test_a_fill_of_nothing_is_refused():
    with pytest.raises(ValueError, match="quantity"):
        apply_fill(None, fill("f0", "buy", "0", "0.5"))


def test_provisional_fill_counts_once_and_failed_reverses():
    matched = fill("p1", "buy", "10", "0.5", venue="polymarket", inst="T1", status="matched")
    confirmed = matched.model_copy(update={"status": "confirmed", "event_id": "other"})
    other = fill("p2", "buy", "2", "0.2", venue="polymarket", inst="T1", t=1)
    key = PositionKey("polymarket", "T1", "yes")
    assert fold_positions([matched, confirmed, matched, other])[key].quantity == 12
    failed = matched.model_copy(update={"status": "failed", "event_id": "failed"})
    for records in ([matched, other, failed], [failed, other, matched], [matched, other, reversal_of(failed)]):
        p = fold_positions(records)[key]
        assert (p.quantity, p.avg_price, p.cost_basis) == (D(2), D("0.2"), D("0.4"))
    assert isinstance(reversal_of(failed), Reversal) and reversal_of(failed).fill_id == "p1"


def test_settlement_win_and_lose_book_payout_minus_cost_and_fees():
    (p,) = apply_fill(None, fill("f1", "buy", "10", "0.40", fee="0.05"))
    won = settle(p, settlement("yes", fees="0.01"))
    assert won.status == "closed" and won.quantity == 0 and won.cost_basis == 0 and won.settlement_result == "yes"
    assert won.realized_pnl == D(10) - D(4) - D("0.05") - D("0.01") and won.fees == D("0.06")
    assert settle(p, settlement("no")).realized_pnl == -D(4) - D("0.05")
    (no,) = apply_fill(None, fill("f2", "sell", "10", "0.40"))  # NO 10 @ 0.60
    assert settle(no, settlement("no")).realized_pnl == D(10) - D(6)


def test_void_returns_cost_and_scalar_uses_value():
    (p,) = apply_fill(None, fill("f1", "buy", "10", "0.40", fee="0.05"))
    assert settle(p, settlement("void")).realized_pnl == -D("0.05")
    (no,) = apply_fill(None, fill("f2", "sell", "10", "0.40"))
    assert settle(no, settlement("scalar", value="0.25")).realized_pnl == 10 * D("0.75") - D(6)


def test_polymarket_settlement_closes_both_tokens_fee_once():
    buys = [fill("y", "buy", "4", "0.7", venue="polymarket", inst="TY"),
            fill("n", "buy", "6", "0.2", venue="polymarket", inst="TN", outcome="no")]
    s = settlement("yes", venue="polymarket", inst="COND", yes_token="TY", no_token="TN", fees="0.10")
    book = fold_positions([*buys, s])
    y, n = book[PositionKey("polymarket", "TY", "yes")], book[PositionKey("polymarket", "TN", "no")]
    assert y.status == n.status == "closed"
    assert y.realized_pnl == 4 * D("0.3") - D("0.10") and n.realized_pnl == -6 * D("0.2")


def test_marks_value_the_held_side():
    (yes,) = apply_fill(None, fill("f1", "buy", "10", "0.40"))
    v = value(yes, mark("0.55"))
    assert (v.mark_price, v.market_value, v.unrealized_pnl) == (D("0.55"), D("5.50"), D("1.50"))
    (no,) = apply_fill(None, fill("f2", "sell", "10", "0.40"))  # NO @ 0.60
    assert value(no, mark("0.55")).unrealized_pnl == 10 * (D("0.45") - D("0.60"))
    assert value(yes, Mark(venue="kalshi", instrument_id="K1", as_of=T0)) is None


# ---- properties -------------------------------------------------------------------------------

cents = st.integers(0, 100).map(lambda c: D(c) / 100)
qty = st.integers(1, 40).map(D) | st.integers(1, 400).map(lambda n: D(n) / 10)
fee = st.integers(0, 9).map(lambda c: D(c) / 100)
INSTRUMENTS = [("kalshi", "K1", "yes"), ("kalshi", "K2", "yes"), ("polymarket", "TY", "yes"),
               ("polymarket", "TN", "no")]


@st.composite
def histories(draw):
    """Distinct fills and settlements, plus failed Polymarket copies of some of them."""
    n = draw(st.integers(1, 25))
    records, provisional = [], []
    for i in range(n):
        venue, inst, outcome = draw(st.sampled_from(INSTRUMENTS))
        f = fill(f"{venue[0]}{i}", draw(st.sampled_from(["buy", "sell"])), draw(qty), draw(cents), venue=venue,
                 inst=inst, outcome=outcome, fee=draw(fee), t=draw(st.integers(0, 30)),
                 status="confirmed" if venue == "kalshi" else draw(st.sampled_from(["matched", "mined", "confirmed"])))
        records.append(f)
        if venue == "polymarket":
            provisional.append(f)
    chosen = draw(st.lists(st.sampled_from(provisional), unique_by=lambda f: f.fill_id)) if provisional else []
    failed = [f.model_copy(update={"status": "failed", "event_id": f.event_id + "-failed"}) for f in chosen]
    if draw(st.booleans()):
        records.append(settlement(draw(st.sampled_from(["yes", "no", "scalar"])), inst="K1", value=str(draw(cents)),
                                  fees=str(draw(fee)), t=draw(st.integers(0, 31))))
    if draw(st.booleans()):
        records.append(settlement(draw(st.sampled_from(["yes", "no"])), venue="polymarket", inst="C", yes_token="TY",
                                  no_token="TN", fees=str(draw(fee)), t=draw(st.integers(0, 31))))
    return records, failed


def redelivered(draw, records):
    """Duplicates, later-status copies of provisional fills, in any order."""
    copies = []
    for r in records:
        if isinstance(r, Fill) and r.venue == "polymarket" and draw(st.booleans()):
            copies.append(r.model_copy(update={"status": "confirmed", "event_id": r.event_id + "-c"}))
    extra = draw(st.lists(st.sampled_from(records), max_size=len(records)))
    return draw(st.permutations(records + copies + extra))


@settings(max_examples=150, deadline=None)
@given(histories(), st.data())
def test_duplication_and_reordering_change_nothing(history, data):
    records, failed = history
    reference = fold_positions(records + failed)
    again = redelivered(data.draw, records + failed)
    assert fold_positions(again) == reference
    assert fold_positions(records + [reversal_of(f) for f in failed]) == reference


def oracle(records, failed):
    """Independent cash and holdings: Kalshi as a signed YES count (selling YES you do not hold buys
    NO at 1 − p), Polymarket per token; settlements pay the held side."""
    gone = {f.fill_id for f in failed}
    fills = sorted((r for r in records if isinstance(r, Fill) and r.fill_id not in gone),
                   key=lambda f: (f.executed_at, f.fill_id))
    events = [((f.executed_at, 0, f.fill_id), f) for f in fills]
    events += [((s.settled_at, 1, s.instrument_id), s) for s in records if isinstance(s, SettlementRecorded)]
    cash, held = D(0), {}
    for _, e in sorted(events, key=lambda e: e[0]):
        if isinstance(e, SettlementRecorded):
            v = e.value if e.value is not None else D(1 if e.result == "yes" else 0)
            if e.venue == "kalshi":
                s = held.pop(e.instrument_id, D(0))
                paid = s * v if s > 0 else -s * (1 - v)
                open_any = s != 0
            else:
                yes, no = held.pop(e.yes_token_id, D(0)), held.pop(e.no_token_id, D(0))
                paid = yes * v + no * (1 - v)
                open_any = yes != 0 or no != 0
            cash += paid - (e.fees if open_any else 0)
            continue
        s = held.get(e.instrument_id, D(0))
        cash -= e.fee
        if e.venue == "polymarket":
            cash += e.quantity * e.price * (-1 if e.side == "buy" else 1)
            held[e.instrument_id] = max(s + (e.quantity if e.side == "buy" else -e.quantity), D(0))
        elif e.side == "buy":
            closing = min(e.quantity, max(-s, D(0)))
            cash += closing * (1 - e.price) - (e.quantity - closing) * e.price
            held[e.instrument_id] = s + e.quantity
        else:
            closing = min(e.quantity, max(s, D(0)))
            cash += closing * e.price - (e.quantity - closing) * (1 - e.price)
            held[e.instrument_id] = s - e.quantity
    return cash, held


@settings(max_examples=200, deadline=None)
@given(histories(), st.dictionaries(st.sampled_from(["K1", "K2", "TY", "TN"]), cents))
def test_pnl_reconciles_with_cash_flows_and_invariants_hold(history, marks):
    records, failed = history
    lifecycles = fold_history(records + failed)
    cash, held = oracle(records, failed)
    for p in lifecycles:
        assert p.quantity >= 0
        assert p.cost_basis == p.avg_price * p.quantity
        assert (p.status == "closed") == (p.closed_at is not None) and (p.status == "open") == (p.quantity > 0)
    open_positions = [p for p in lifecycles if p.status == "open"]
    # Holdings agree with the oracle: Kalshi as one signed YES count, Polymarket per token.
    derived = {}
    for p in open_positions:
        derived[p.instrument_id] = p.quantity if p.outcome == "yes" or p.venue == "polymarket" else -p.quantity
    assert derived == {k: s for k, s in held.items() if s != 0}
    realized = sum((p.realized_pnl for p in lifecycles), D(0))
    assert realized - sum((p.cost_basis for p in open_positions), D(0)) == cash
    market_value, unrealized = D(0), D(0)
    for p in open_positions:
        v = value(p, mark(str(marks.get(p.instrument_id, D("0.5"))), inst=p.instrument_id, venue=p.venue))
        market_value += v.market_value
        unrealized += v.unrealized_pnl
    assert realized + unrealized == cash + market_value
    gross = sum((p.realized_pnl + p.fees for p in lifecycles), D(0))
    assert gross - sum((p.fees for p in lifecycles), D(0)) + unrealized == cash + market_value
