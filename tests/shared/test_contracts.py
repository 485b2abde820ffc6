import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.contracts import ALL_MODELS, Fill, Mark, deterministic_id, utcnow
from shared.contracts.channels import (
    DEAD_LETTERS,
    EVENT_CHANNELS,
    FILLS,
    GATEWAY_POSITIONS,
    HEALTH,
    RPC_CHANNELS,
    SERVICES,
    STREAMS,
)
from shared.contracts.proto_gen import render

REPO = Path(__file__).resolve().parents[2]


def make_fill(**overrides):
    fields = dict(
        venue="kalshi",
        account="acct",
        fill_id="f-1",
        instrument_id="KXFED-26DEC-T4.00",
        outcome="yes",
        side="buy",
        quantity="10.00",
        price="0.5600",
        fee="0.07",
        status="confirmed",
        executed_at=utcnow(),
    )
    fields.update(overrides)
    return Fill(**fields)


def test_money_travels_as_decimal_strings_and_round_trips_exactly():
    fill = make_fill()
    wire = json.loads(fill.model_dump_json())
    assert wire["price"] == "0.5600" and wire["quantity"] == "10.00" and wire["fee"] == "0.07"
    assert Fill.model_validate_json(fill.model_dump_json()) == fill
    assert fill.price == Decimal("0.56")


def test_every_message_carries_the_envelope():
    embedded = ("ExternalPosition", "ReconciliationItem", "ErrorInfo", "LedgerPosition", "PortfolioTotals",
                "PortfolioSnapshot", "ExternalIds", "InstrumentMapping", "LegQuantities", "MarketReconciliation",
                "ReconciliationRun", "ReconciliationSummary", "ImportedMarket")
    for model in ALL_MODELS:
        if model.__name__ in embedded:
            continue  # embedded records, not messages on their own
        assert {"event_id", "schema_version", "occurred_at"} <= set(model.model_fields), model.__name__


@pytest.mark.parametrize(
    "bad",
    [{"price": 0.56}, {"price": "1.5"}, {"quantity": "ten"}, {"venue": "binance"}, {"outcome": "maybe"}],
)
def test_bad_values_are_rejected(bad):
    with pytest.raises(ValidationError):
        make_fill(**bad)


def test_events_are_immutable():
    fill = make_fill()
    with pytest.raises(ValidationError):
        fill.price = Decimal("0.1")  # type: ignore[misc]


def test_unknown_fields_are_rejected_rather_than_dropped():
    payload = json.loads(make_fill().model_dump_json())
    payload["surprise"] = 1
    with pytest.raises(ValidationError):
        Fill.model_validate(payload)


def test_deterministic_ids_are_stable_and_distinct():
    assert deterministic_id("kalshi", "f-1", "confirmed") == deterministic_id("kalshi", "f-1", "confirmed")
    assert deterministic_id("kalshi", "f-1", "matched") != deterministic_id("kalshi", "f-1", "confirmed")


def test_every_channel_model_is_in_the_generated_schemas():
    names = {m.__name__ for m in ALL_MODELS}
    for channel in EVENT_CHANNELS:
        assert channel.model.__name__ in names
    for rpc in RPC_CHANNELS:
        assert {rpc.request.__name__, rpc.reply.__name__} <= names


def test_every_channel_names_known_services_and_lies_in_its_stream():
    for channel in EVENT_CHANNELS:
        assert channel.publishers and set(channel.publishers + channel.consumers) <= set(SERVICES), channel.pattern
        prefixes = [s.removesuffix(">") for s in channel.stream.subjects]
        assert any(channel.wildcard().startswith(p) for p in prefixes), channel.pattern
        assert channel.stream in STREAMS
    for rpc in RPC_CHANNELS:
        assert rpc.answerers and rpc.askers and set(rpc.answerers + rpc.askers) <= set(SERVICES), rpc.pattern
    patterns = [c.pattern for c in (*EVENT_CHANNELS, *RPC_CHANNELS)]
    assert len(patterns) == len(set(patterns))


def test_a_subject_is_built_only_from_values_that_fit_its_pattern():
    assert FILLS.subject(venue="kalshi").relative == "evt.fills.kalshi"
    assert FILLS.every().relative == "evt.fills.*"
    assert DEAD_LETTERS.subject(original_subject="evt.fills.kalshi").relative == "dlq.evt.fills.kalshi"
    assert DEAD_LETTERS.every().relative == "dlq.>"
    assert HEALTH.subject(service="ledger").relative == "rpc.health.ledger"
    for bad in ({"venue": "binance"}, {}, {"venue": "kalshi", "extra": "x"}, {"service": "ledger"}):
        with pytest.raises(ValueError):
            FILLS.subject(**bad)
    for bad_service in ("nobody", "ledger.>", "*"):
        with pytest.raises(ValueError):
            HEALTH.subject(service=bad_service)
    for bad_original in ("evt.*", "evt.>", "a b", ""):
        with pytest.raises(ValueError):
            DEAD_LETTERS.subject(original_subject=bad_original)


def test_a_channel_refuses_a_model_it_does_not_carry_or_an_event_that_contradicts_its_subject():
    subject = FILLS.subject(venue="kalshi")
    subject.check(make_fill())
    mark = Mark(venue="kalshi", instrument_id="T", as_of=utcnow())
    with pytest.raises(TypeError, match="evt.fills.kalshi carries Fill, not Mark"):
        subject.check(mark)
    with pytest.raises(ValueError, match="venue='polymarket'"):
        subject.check(make_fill(venue="polymarket"))
    with pytest.raises(ValueError, match="wildcard"):
        FILLS.every().check(make_fill())
    with pytest.raises(TypeError, match="takes PositionsRequest"):
        GATEWAY_POSITIONS.subject().check(make_fill())


def test_proto_directory_matches_the_code():
    """`make proto` output is committed; editing a contract without regenerating fails here."""
    expected = render()
    on_disk = {str(p.relative_to(REPO / "proto")): p.read_text() for p in (REPO / "proto").rglob("*.json")}
    assert set(on_disk) == set(expected), "proto/ has missing or extra files: run `make proto`"
    drifted = [name for name, content in expected.items() if on_disk[name] != content]
    assert not drifted, f"proto/ is stale for {drifted}: run `make proto`"
