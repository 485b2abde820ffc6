"""Pure rules of the venue feeds: which rows are set aside, how they are named and alerted, and
when a feed reads as stalled (and the setting that says how soon)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.exchange_gateway.domain.feed_health import FeedHealth
from services.exchange_gateway.domain.quarantine import RejectedRow, quarantine_alert, row_key, split_rows
from services.exchange_gateway.settings import GatewaySettings
from shared.contracts import deterministic_id
from shared.settings import ConfigError, load_settings

T0 = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
STALL = timedelta(seconds=60)


def _read(row: dict) -> Decimal:
    if "bad" in row:
        raise ValueError(f"field 'bad' is {row['bad']!r}")
    return Decimal(row["n"])


def test_split_keeps_good_rows_in_order_and_rejects_the_rest_with_their_error() -> None:
    rows = [{"id": "a", "n": "1"}, {"id": "b", "bad": 1, "owner": "key"}, {"n": "3"}, {"bad": 2}]
    good, rejected = split_rows(rows, _read, id_fields=("id",), errors=(ValueError,),
                                public=lambda r: {k: v for k, v in r.items() if k != "owner"})
    assert good == [Decimal(1), Decimal(3)]
    assert [r.key for r in rejected] == ["b", row_key({"bad": 2}, ("id",))]
    assert rejected[0].raw == {"id": "b", "bad": 1} and rejected[0].error == "field 'bad' is 1"
    with pytest.raises(KeyError):  # an error it was not told to expect is not swallowed
        split_rows([{"x": 1}], _read, id_fields=("id",), errors=(ValueError,))


def test_row_key_is_the_venue_id_else_a_stable_content_hash() -> None:
    assert row_key({"fill_id": "", "trade_id": "t-1"}, ("fill_id", "trade_id")) == "t-1"
    a = row_key({"x": Decimal("0.10"), "y": [1]}, ("id",))
    assert a.startswith("sha256:") and a == row_key({"y": [1], "x": Decimal("0.10")}, ("id",))
    assert a != row_key({"x": Decimal("0.11"), "y": [1]}, ("id",))
    assert row_key("not an object", ("id",)).startswith("sha256:")


def test_quarantine_alert_is_critical_and_the_same_for_the_same_row() -> None:
    row = RejectedRow("malformed-1", {"count_fp": "not-a-number"}, "kalshi: malformed fill: field 'count_fp' ...")
    alert = quarantine_alert("kalshi", "fills", row)
    assert (alert.severity, alert.code, alert.source) == ("critical", "feed.row_quarantined", "exchange-gateway")
    assert alert.event_id == deterministic_id("kalshi", "fills", "quarantine", "malformed-1")
    assert alert.event_id == quarantine_alert("kalshi", "fills", RejectedRow("malformed-1", {}, "other")).event_id
    assert alert.event_id != quarantine_alert("kalshi", "settlements", row).event_id
    assert "malformed-1" in alert.message and "count_fp" in alert.message
    assert alert.details == {"venue": "kalshi", "feed": "fills", "row_key": "malformed-1", "error": row.error}


def test_feed_health_ok_while_polling_and_stalled_past_the_threshold() -> None:
    health = FeedHealth("kalshi", "fills", started_at=T0)
    assert health.report(T0 + timedelta(seconds=5), STALL).startswith("ok: starting")
    stalled = health.report(T0 + timedelta(seconds=61), STALL)
    assert stalled.startswith("stalled: no successful poll since start for 61.0s (threshold 60.0s)")

    health.poll_succeeded(T0 + timedelta(seconds=62), T0 + timedelta(seconds=50))
    health.quarantined = 2
    report = health.report(T0 + timedelta(seconds=63), STALL)
    assert report.startswith("ok: last successful poll 2026-11-29T18:01:02+00:00, lag 1.0s")
    assert "quarantined 2" in report and "newest venue event 2026-11-29T18:00:50+00:00" in report

    health.poll_failed("kalshi: GET /portfolio/fills: HTTP 500")
    assert health.report(T0 + timedelta(seconds=100), STALL).startswith("ok:")  # one failure is not a stall
    late = health.report(T0 + timedelta(seconds=123), STALL)
    assert late.startswith("stalled: no successful poll for 61.0s")
    assert "last error: kalshi: GET /portfolio/fills: HTTP 500" in late and "quarantined 2" in late

    health.poll_succeeded(T0 + timedelta(seconds=124), None)  # a poll that saw nothing keeps the newest event
    back = health.report(T0 + timedelta(seconds=125), STALL)
    assert back.startswith("ok:") and "last error" not in back and "18:00:50" in back


def test_stall_threshold_must_exceed_every_poll_interval(monkeypatch) -> None:
    for name in ("FEED_STALL_SECONDS", "FILL_POLL_INTERVAL_SECONDS", "SETTLEMENT_POLL_INTERVAL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    defaults = load_settings(GatewaySettings)
    assert (defaults.feed_stall_seconds, defaults.settlement_poll_interval_seconds) == (60, 30)
    assert load_settings(GatewaySettings, feed_stall_seconds=3, settlement_poll_interval_seconds=0.5).feed_stall_seconds == 3
    with pytest.raises(ConfigError, match=r"FEED_STALL_SECONDS \(20\) must be longer than the slowest feed's poll interval \(30"):
        load_settings(GatewaySettings, feed_stall_seconds=20)
