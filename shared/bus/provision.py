"""The admin step: create or update the streams and every declared durable consumer.

Services may not create, change or delete streams or consumers (their NATS users lack the rights:
`deploy/nats/permissions.conf`); they bind to what this step made. `make run`, compose (the
one-shot `nats-provision` service) and the tests run it before any service starts, as the `admin`
NATS user: `python -m shared.bus.provision` reads `NATS_URL` (the admin's credentials),
`BUS_NAMESPACE` and the `BUS_*` sizing settings, and converges an existing stream or consumer on
them, so a change of retention, replicas or `BUS_MAX_DELIVER` takes effect at the next run.
"""

from __future__ import annotations

import asyncio
import sys

import nats
from nats.js import api
from nats.js.errors import APIError, BadRequestError, NotFoundError

from shared.bus.config import BusConfig
from shared.contracts.channels import (
    ADMIN,
    DEAD_LETTER_STREAM,
    EVENT_CHANNELS,
    STREAMS,
    Stream,
    inbox_prefix,
    stream_name,
)

# Duplicate window for Nats-Msg-Id de-duplication of re-published facts (and dead letters).
_DUPLICATE_WINDOW_SECONDS = 600.0
# How long a delivered message may stay unacknowledged (a handler still working, or a crashed
# process) before JetStream delivers it again. Waits between failed attempts are NAK delays
# (BusConfig.redelivery_backoff_seconds), not the consumer's own `backoff` list, which would
# replace this wait and redeliver a slow handler's message while it is still being handled.
_ACK_WAIT_SECONDS = 60.0


class ProvisionError(RuntimeError):
    pass


def stream_config(namespace: str, stream: Stream, config: BusConfig) -> api.StreamConfig:
    dead_letters = stream is DEAD_LETTER_STREAM
    return api.StreamConfig(
        name=stream_name(namespace, stream),
        subjects=[f"{namespace}.{subject}" for subject in stream.subjects],
        retention=api.RetentionPolicy.LIMITS,
        storage=api.StorageType.FILE,
        discard=api.DiscardPolicy.OLD,
        max_age=config.dead_letter_max_age_seconds if dead_letters else config.events_max_age_seconds,
        duplicate_window=_DUPLICATE_WINDOW_SECONDS,
        num_replicas=config.stream_replicas,
    )


def consumer_configs(namespace: str, config: BusConfig) -> list[tuple[str, api.ConsumerConfig]]:
    """(stream, consumer) for every service that consumes a channel: `<service>-<channel>`."""
    return [
        (stream_name(namespace, channel.stream), api.ConsumerConfig(
            name=channel.durable(service),
            durable_name=channel.durable(service),
            filter_subject=f"{namespace}.{channel.wildcard()}",
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=_ACK_WAIT_SECONDS,
            # One delivery beyond the attempts: if the last attempt crashed the process, the
            # next delivery still dead-letters the message instead of JetStream dropping it silently.
            max_deliver=config.max_deliver + 1,
        ))
        for channel in EVENT_CHANNELS
        for service in channel.consumers
    ]


async def provision_bus(admin_url: str, namespace: str, config: BusConfig) -> None:
    """Create (or converge) the namespace's streams, then every declared consumer."""
    connection = await nats.connect(admin_url, inbox_prefix=inbox_prefix(namespace, ADMIN),
                                    name=f"{namespace}-{ADMIN}", allow_reconnect=False)
    try:
        jetstream = connection.jetstream()
        for stream in STREAMS:
            await _ensure_stream(jetstream, stream_config(namespace, stream, config), config)
        for stream, consumer in consumer_configs(namespace, config):
            await jetstream.add_consumer(stream, config=consumer)  # creates, or updates to this config
    finally:
        await connection.close()


async def _ensure_stream(jetstream: object, stream: api.StreamConfig, config: BusConfig) -> None:
    try:
        await jetstream.add_stream(config=stream)  # type: ignore[attr-defined]
        return
    except BadRequestError as exc:
        refused = exc  # usually: it exists, maybe sized or retained differently
    except APIError as exc:
        raise _stream_error(stream, config, exc) from exc
    try:
        # Settings changed or an older version created it: converge on this configuration.
        await jetstream.update_stream(config=stream)  # type: ignore[attr-defined]
    except APIError as exc:
        raise _stream_error(stream, config, refused if isinstance(exc, NotFoundError) else exc) from exc


def _stream_error(stream: api.StreamConfig, config: BusConfig, exc: APIError) -> ProvisionError:
    return ProvisionError(f"stream {stream.name} (BUS_STREAM_REPLICAS={config.stream_replicas}): {exc.description}")


def main() -> int:
    from shared.settings import BaseServiceSettings, load_settings

    settings = load_settings(BaseServiceSettings, service="nats-provision")
    try:
        asyncio.run(provision_bus(settings.nats_url, settings.bus_namespace, BusConfig.from_settings(settings)))
    except ProvisionError as exc:
        print(f"nats-provision: {exc}", file=sys.stderr)
        return 1
    print(f"nats-provision: streams and consumers of {settings.bus_namespace} are in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
