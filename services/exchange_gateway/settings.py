"""The gateway's configuration: the only settings class in the system that declares venue secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from shared.settings import BaseServiceSettings


class GatewaySettings(BaseServiceSettings):
    kalshi_base_url: str = Field(default="https://external-api.kalshi.com/trade-api/v2", pattern=r"^https?://.+/trade-api/v2/?$")
    kalshi_api_key_id: str | None = None
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
    mark_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

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
