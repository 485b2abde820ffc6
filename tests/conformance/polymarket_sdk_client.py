"""The official polymarket-client 0.14.0, unchanged, pointed at a running venue-sim.

The client only targets production hosts; its private hooks (`_create_environment` and
`dataclasses.replace` on the environment config) point it at the sim (protocols/README.md).
"""

from __future__ import annotations

import dataclasses

import polymarket
from polymarket.environments import PRODUCTION, _create_environment
from polymarket.models.clob import ApiKeyCreds

from tests.support.venue_sim import RunningSim


async def official_client(handle: RunningSim, *, derive: bool = False) -> polymarket.AsyncSecureClient:
    """`derive=True` lets the client derive its API credentials with an L1 (EIP-712) signature."""
    config = dataclasses.replace(PRODUCTION._config, clob_url=handle.clob_url, data_url=handle.data_api_url)  # noqa: SLF001
    c = handle.sim.polymarket.config
    return await polymarket.AsyncSecureClient.create(
        private_key=handle.credentials.polymarket_private_key,
        wallet=c.address,  # a plain EOA account: no relayer or RPC round-trips
        environment=_create_environment(name="venue-sim", config=config),
        credentials=None if derive else ApiKeyCreds(key=c.api_key, secret=c.api_secret, passphrase=c.api_passphrase),
    )
