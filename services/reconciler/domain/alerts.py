"""Which reconciliation differences to alert on, so that one difference alerts once.

The service keeps, per (venue, instrument_id, outcome), the fingerprint of the difference it last
alerted (`previous`). A run then:

* raises a critical alert for each `mismatch` that is not acknowledged and whose fingerprint —
  the difference class and the quantity difference — is new or changed (a drift that grows or
  shrinks alerts again; a cost-basis wiggle does not);
* reports as resolved each alerted key that is now `match`, or that no item names any more (both
  sides flat) — unless its venue failed this run (`failed_venues`): a failed snapshot lists no
  venue-only holdings, so their absence proves nothing;
* leaves every other alerted key as it is: still a mismatch but acknowledged, `api_error` (the
  venue cannot tell), `unknown_mapping` (the mapping was removed; the difference may remain).

`api_error` and `unknown_mapping` items are not differences and never alert. The service's next
`previous` is the old one without the resolved keys, plus `fingerprint` of each alerted item.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from shared.contracts.events import ReconciliationItem

DifferenceKey = tuple[str, str, str]  # (venue, instrument_id, outcome)


def difference_key(item: ReconciliationItem) -> DifferenceKey:
    return item.venue, item.instrument_id, item.outcome


def fingerprint(item: ReconciliationItem) -> str:
    # normalize() + 0: 150.00 and 150 are one size (and never 1.5E+2).
    diff = "" if item.diff_quantity is None else format(item.diff_quantity.normalize() + 0, "f")
    return f"{item.difference}:{diff}"


def alert_changes(previous: Mapping[DifferenceKey, str], items: Iterable[ReconciliationItem], *,
                  failed_venues: Collection[str] = ()) -> tuple[list[ReconciliationItem], list[DifferenceKey]]:
    """(items to raise a critical alert for, keys resolved since `previous`), both in item/key order."""
    alert: list[ReconciliationItem] = []
    resolved: list[DifferenceKey] = []
    seen: set[DifferenceKey] = set()
    for item in items:
        key = difference_key(item)
        seen.add(key)
        if item.status == "mismatch":
            if not item.acknowledged and previous.get(key) != fingerprint(item):
                alert.append(item)
        elif item.status == "match" and key in previous:
            resolved.append(key)
    resolved.extend(sorted(key for key in previous if key not in seen and key[0] not in failed_venues))
    return alert, resolved
