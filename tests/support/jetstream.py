"""What a stream holds, read as the admin user (services may not read streams directly)."""

from __future__ import annotations

import nats
from nats.aio.msg import Msg

from shared.contracts.channels import ADMIN, Stream, inbox_prefix, stream_name


async def stored(admin_url: str, namespace: str, stream: Stream) -> list[Msg]:
    """Every message in the stream, oldest first."""
    connection = await nats.connect(admin_url, inbox_prefix=inbox_prefix(namespace, ADMIN), allow_reconnect=False)
    try:
        jetstream = connection.jetstream()
        name = stream_name(namespace, stream)
        state = (await jetstream.stream_info(name)).state
        if not state.messages:
            return []
        return [await jetstream.get_msg(name, seq) for seq in range(state.first_seq, state.last_seq + 1)]
    finally:
        await connection.close()
