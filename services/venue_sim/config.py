"""Simulator settings from the environment (prefix SIM_), validated with a clear message."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ConfigError, TrueupSettings
from shared.settings import load_settings as _load_settings

__all__ = ["ConfigError", "SimSettings", "load_settings"]


class SimSettings(TrueupSettings):
    # SIM_* so the simulator's idea of "the keys it accepts" never mixes with the gateway's own.
    model_config = SettingsConfigDict(env_prefix="SIM_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    kalshi_port: int = 8100
    data_api_port: int = 8101
    clob_port: int = 8102

    # Unset -> the sim uses (and if needed generates) the throwaway demo credentials in data_dir.
    kalshi_key_id: str | None = None
    kalshi_public_key_file: Path | None = None
    kalshi_tier: Literal["basic", "advanced", "premier", "prime"] = "basic"
    kalshi_auth_skew_ms: int = 60_000
    polymarket_api_key: str | None = None
    polymarket_api_secret: str | None = None
    polymarket_api_passphrase: str | None = None
    polymarket_address: str | None = None

    data_dir: Path = Path(".data/sim")
    scenario: Literal["demo", "empty", "markets"] = "demo"
    seed: int = 42
    trade_mined_after_ms: int = 2_000
    trade_confirmed_after_ms: int = 6_000
    # A share of trades, not money; Decimal keeps it exact.
    trade_failed_share: Decimal = Decimal("0")

    @field_validator("kalshi_port", "data_api_port", "clob_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError("must be a TCP port (0-65535)")
        return value

    @field_validator("kalshi_auth_skew_ms", "trade_mined_after_ms", "trade_confirmed_after_ms")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("trade_failed_share")
    @classmethod
    def _share(cls, value: Decimal) -> Decimal:
        if not 0 <= value <= 1:
            raise ValueError("must be between 0 and 1")
        return value


def load_settings(**overrides: object) -> SimSettings:
    return _load_settings(SimSettings, **overrides)
