"""Builds a client for each venue that has credentials; the only place secrets meet adapters.

Every secret setting was registered with the log redactor when the settings loaded
(`shared.settings`), before any client or key object exists.
"""

from __future__ import annotations

from services.exchange_gateway.adapters.http import RetryPolicy
from services.exchange_gateway.adapters.kalshi_client import KalshiClient
from services.exchange_gateway.adapters.kalshi_signing import KalshiKeyError, KalshiSigner, load_private_key
from services.exchange_gateway.adapters.polymarket_auth import PolymarketCredentials
from services.exchange_gateway.adapters.polymarket_client import PolymarketClient
from services.exchange_gateway.adapters.venue import VenueClient
from services.exchange_gateway.settings import GatewaySettings
from shared.contracts import Venue
from shared.settings import ConfigError


def build_venue_clients(settings: GatewaySettings) -> dict[Venue, VenueClient]:
    clients: dict[Venue, VenueClient] = {}
    if settings.kalshi_configured:
        clients["kalshi"] = _kalshi(settings)
    if settings.polymarket_configured:
        clients["polymarket"] = _polymarket(settings)
    return clients


def _kalshi(settings: GatewaySettings) -> KalshiClient:
    assert settings.kalshi_api_key_id and settings.kalshi_private_key
    try:
        if settings.kalshi_private_key_file is not None:
            key = load_private_key(path=settings.kalshi_private_key_file)
        else:
            key = load_private_key(settings.kalshi_private_key.get_secret_value())
    except KalshiKeyError as exc:
        raise ConfigError(str(exc)) from None
    return KalshiClient(
        base_url=settings.kalshi_base_url,
        signer=KalshiSigner(settings.kalshi_api_key_id.get_secret_value(), key),
        # Kalshi exposes no account id; the key id is a credential, so it is not used as one.
        account="kalshi",
        tier=settings.kalshi_tier,
        timeout_s=settings.http_timeout_seconds,
        retry=_retry(settings),
    )


def _polymarket(settings: GatewaySettings) -> PolymarketClient:
    assert settings.polymarket_address and settings.polymarket_api_key
    assert settings.polymarket_api_secret and settings.polymarket_api_passphrase
    credentials = PolymarketCredentials(
        api_key=settings.polymarket_api_key.get_secret_value(),
        api_secret=settings.polymarket_api_secret.get_secret_value(),
        api_passphrase=settings.polymarket_api_passphrase.get_secret_value(),
        address=settings.polymarket_address,
    )
    return PolymarketClient(
        credentials=credentials,
        clob_url=settings.polymarket_clob_url,
        data_api_url=settings.polymarket_data_api_url,
        timeout_s=settings.http_timeout_seconds,
        retry=_retry(settings),
    )


def _retry(settings: GatewaySettings) -> RetryPolicy:
    return RetryPolicy(deadline_s=settings.venue_read_deadline_seconds)
