"""Replies larger than one NATS message (the server's `max_payload`, 1 MB by default).

A big account's holdings, a reconciliation run with its items or the overview easily pass 1 MB.
The responder splits such a reply into numbered parts sent to the asker's inbox one after the
other; the asker joins them. A reply that fits is sent as it always was: one message, no headers.
The permissions allow each responder MAX_REPLY_PARTS messages per request (`allow_responses`).
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.contracts.channels import MAX_REPLY_PARTS

PART_HEADER = "Trueup-Reply-Part"
PARTS_HEADER = "Trueup-Reply-Parts"
# Room left in each message for the protocol line and the part headers.
_HEADROOM_BYTES = 4096


class ReplyTooLarge(ValueError):
    pass


class MalformedReply(ValueError):
    pass


def reply_parts(body: bytes, max_payload: int) -> list[tuple[bytes, dict[str, str] | None]]:
    """`body` as the messages to send: itself alone when it fits, else numbered parts."""
    part_size = max_payload - _HEADROOM_BYTES
    if len(body) <= part_size:
        return [(body, None)]
    count = -(-len(body) // part_size)
    if count > MAX_REPLY_PARTS:
        raise ReplyTooLarge(f"reply of {len(body):,} bytes needs {count} messages; at most {MAX_REPLY_PARTS} allowed")
    return [(body[i * part_size:(i + 1) * part_size], {PART_HEADER: str(i), PARTS_HEADER: str(count)})
            for i in range(count)]


class ReplyAssembler:
    """Collects one reply's messages; `body` is set once every part has arrived (in any order)."""

    def __init__(self) -> None:
        self._parts: dict[int, bytes] = {}
        self._count: int | None = None
        self.body: bytes | None = None

    def add(self, data: bytes, headers: Mapping[str, str] | None) -> bytes | None:
        """Take one message; returns the whole reply when it is complete, else None."""
        if not headers or PARTS_HEADER not in headers:
            self.body = data
            return data
        try:
            index, count = int(headers[PART_HEADER]), int(headers[PARTS_HEADER])
        except (KeyError, ValueError) as exc:
            raise MalformedReply(f"reply part headers unreadable: {dict(headers)}") from exc
        if not (0 < count <= MAX_REPLY_PARTS and 0 <= index < count) or self._count not in (None, count):
            raise MalformedReply(f"reply part {index} of {count} does not fit this reply")
        self._count = count
        self._parts[index] = data
        if len(self._parts) < count:
            return None
        self.body = b"".join(self._parts[i] for i in range(count))
        return self.body
