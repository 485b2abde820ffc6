"""A holdings snapshot cut into facts that each fit one JetStream message.

JetStream refuses a message over the server's max_payload (1 MB by default); 10,000 Kalshi or
Polymarket holdings with their raw venue rows are several megabytes. Parts are cut by size, not
count, because a holding's raw row is the venue's to size.
"""

from __future__ import annotations

from shared.contracts import ExternalPosition, ExternalPositionsSnapshot, deterministic_id

# Half the default max_payload: room for the snapshot's own fields and the message headers.
PART_BUDGET_BYTES = 512 * 1024


def snapshot_parts(snapshot: ExternalPositionsSnapshot,
                   budget_bytes: int = PART_BUDGET_BYTES) -> list[ExternalPositionsSnapshot]:
    """The snapshot itself when it fits `budget_bytes`, else parts that share its `snapshot_id`
    (its event id) with deterministic ids of their own, so a republished part is a duplicate."""
    groups: list[list[ExternalPosition]] = [[]]
    size = 0
    for position in snapshot.positions:
        position_bytes = len(position.model_dump_json())
        if groups[-1] and size + position_bytes > budget_bytes:
            groups.append([])
            size = 0
        groups[-1].append(position)
        size += position_bytes
    if len(groups) == 1:
        return [snapshot]
    return [
        snapshot.model_copy(update={
            "event_id": deterministic_id("snapshot-part", snapshot.event_id, index),
            "snapshot_id": snapshot.event_id, "part": index, "parts": len(groups), "positions": tuple(group),
        })
        for index, group in enumerate(groups)
    ]
