"""The message bus: FastStream over NATS, with JetStream for facts and core request/reply for questions.

What this module guarantees to every service:
- subjects and streams are namespaced (`BUS_NAMESPACE`) so deployments and test sessions never mix;
- streams exist before anything publishes or consumes (created idempotently at start);
- events are published with `Nats-Msg-Id = event_id`, so JetStream drops a re-publish of the
  same fact inside its duplicate window;
- consumers are durable pull consumers that ack only after the handler returns (a crash means
  redelivery, which idempotent handlers absorb); a message that fails validation goes to the
  dead-letter stream with the error, an `Alert` is raised, and the consumer moves on.
"""

from shared.bus.bus import Bus, BusError, BusTimeout, RemoteError

__all__ = ["Bus", "BusError", "BusTimeout", "RemoteError"]
