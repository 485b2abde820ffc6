"""The gateway's configuration: the only settings class in the system that declares venue secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from shared.contracts.channels import GATEWAY_REPLY_TIMEOUT_SECONDS
from shared.settings import BaseServiceSettings


class GatewaySettings(BaseServiceSettings):
    kalshi_base_url: str = Field(default="https://external-api.kalshi.com/trade-api/v2", pattern=r"^https?://.+/trade-api/v2/?$")
    # A credential like the key itself (it names the account to anyone holding a signature).
    kalshi_api_key_id: SecretStr | None = None
    # PEM text, from KALSHI_PRIVATE_KEY or (usually) the file named by KALSHI_PRIVATE_KEY_FILE.
    kalshi_private_key: SecretStr | None = None
    # Kept beside the text so a bad key's error names the file the operator configured.
    kalshi_private_key_file: Path | None = None
    kalshi_tier: Literal["basic", "advanced", "premier", "prime"] = "basic"

    polymarket_clob_url: str = Field(default="https://clob.polymarket.com", pattern=r"^https?://")
    polymarket_data_api_url: str = Field(default="https://data-api.polymarket.com", pattern=r"^https?://")
    polymarket_address: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")
    polymarket_private_key: SecretStr | None = None
    polymarket_api_key: SecretStr | None = None
    polymarket_api_secret: SecretStr | None = None
    polymarket_api_passphrase: SecretStr | None = None

    # External snapshot cache: short, because "what I hold right now" is the product.
    positions_cache_ttl_seconds: float = Field(default=10.0, ge=5.0, le=30.0)
    fill_poll_interval_seconds: float = Field(default=2.0, gt=0, le=300)
    # Settlements arrive a few times a day at most; reading them twice a minute is plenty.
    settlement_poll_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    # A feed (fills, settlements) with no successful poll for this long turns the gateway's health degraded.
    feed_stall_seconds: float = Field(default=60.0, gt=0, le=86400)
    mark_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # One venue read, all attempts and waits included, gives up after this: inside the API's wait
    # for the gateway (GATEWAY_REPLY_TIMEOUT_SECONDS, 30 s) with room left to answer.
    venue_read_deadline_seconds: float = Field(default=20.0, ge=1)

    @model_validator(mode="after")
    def _stall_threshold_above_poll_intervals(self) -> GatewaySettings:
        slowest = max(self.fill_poll_interval_seconds, self.settlement_poll_interval_seconds)
        if self.feed_stall_seconds <= slowest:
            raise ValueError(
                f"FEED_STALL_SECONDS ({self.feed_stall_seconds:g}) must be longer than the slowest feed's poll "
                f"interval ({slowest:g} s), or a healthy feed would read as stalled between two polls")
        return self

    @model_validator(mode="after")
    def _read_deadline_inside_callers_wait(self) -> GatewaySettings:
        deadline = self.venue_read_deadline_seconds
        if deadline >= GATEWAY_REPLY_TIMEOUT_SECONDS:
            raise ValueError(
                f"VENUE_READ_DEADLINE_SECONDS ({deadline:g}) must be shorter than the {GATEWAY_REPLY_TIMEOUT_SECONDS:g} s "
                "the API waits for the gateway's answer, or a slow venue shows as 'gateway unavailable'; "
                f"the default {type(self).model_fields['venue_read_deadline_seconds'].default:g} leaves room to answer")
        if self.http_timeout_seconds > deadline:
            raise ValueError(
                f"HTTP_TIMEOUT_SECONDS ({self.http_timeout_seconds:g}) must not exceed VENUE_READ_DEADLINE_SECONDS "
                f"({deadline:g}): a single venue call could never finish inside a read's deadline")
        return self

    @property
    def kalshi_configured(self) -> bool:
        return bool(self.kalshi_api_key_id and self.kalshi_private_key)

    @property
    def polymarket_configured(self) -> bool:
        return bool(
            self.polymarket_address
            and self.polymarket_api_key
            and self.polymarket_api_secret
            and self.polymarket_api_passphrase
        )
