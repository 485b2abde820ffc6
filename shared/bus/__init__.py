"""The message bus: FastStream over NATS, with JetStream for facts and core request/reply for questions.

What this module guarantees to every service:
- it speaks only the channels declared in `shared.contracts.channels`: a model the channel does
  not carry, or a subject that does not fit its pattern, fails at once;
- subjects and streams are namespaced (`BUS_NAMESPACE`) so deployments and test sessions never mix;
- each service connects as its own NATS user, receives replies only under its own inbox prefix
  and uses only its own durable consumers (`<service>-<channel>`); streams and consumers are made,
  sized and retained as the settings say, by the separate admin step (`shared.bus.provision`),
  never by a service;
- events are published with `Nats-Msg-Id = event_id`, so JetStream drops a re-publish of the
  same fact inside its duplicate window;
- consumers are durable pull consumers that ack only after the handler returns (a crash means
  redelivery, which idempotent handlers absorb). A failing handler is retried with backoff,
  `BUS_MAX_DELIVER` attempts in all; then — or at once for a message that fails validation — the
  message goes to the dead-letter stream under an id derived from it, one `Alert` is raised, and
  the consumer moves on.
"""

from shared.bus.bus import Bus, BusError, BusTimeout, RemoteError
from shared.bus.config import BusConfig

__all__ = ["Bus", "BusConfig", "BusError", "BusTimeout", "RemoteError"]
