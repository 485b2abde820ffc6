import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.contracts import ALL_MODELS, EVENT_CHANNELS, RPC_CHANNELS, Fill, deterministic_id, utcnow
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
    for model in ALL_MODELS:
        if model.__name__ in ("ExternalPosition", "ReconciliationItem", "ErrorInfo"):
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
    for model in EVENT_CHANNELS.values():
        assert model.__name__ in names
    for request, reply in RPC_CHANNELS.values():
        assert {request.__name__, reply.__name__} <= names


def test_proto_directory_matches_the_code():
    """`make proto` output is committed; editing a contract without regenerating fails here."""
    expected = render()
    on_disk = {str(p.relative_to(REPO / "proto")): p.read_text() for p in (REPO / "proto").rglob("*.json")}
    assert set(on_disk) == set(expected), "proto/ has missing or extra files: run `make proto`"
    drifted = [name for name, content in expected.items() if on_disk[name] != content]
    assert not drifted, f"proto/ is stale for {drifted}: run `make proto`"
