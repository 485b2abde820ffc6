"""Gateway configuration pointed at a running simulator, with the official vectors' keys."""

from __future__ import annotations

from pathlib import Path

from services.exchange_gateway.settings import GatewaySettings
from shared.settings import load_settings
from tests.support.venue_sim import RunningSim


def gateway_env(sim: RunningSim, tmp_path: Path, venues: tuple[str, ...] = ("kalshi", "polymarket")) -> dict[str, str]:
    """Environment variables exactly as an operator would set them (key as a file)."""
    creds = sim.credentials
    env = {
        "KALSHI_BASE_URL": sim.kalshi_base_url,
        "POLYMARKET_CLOB_URL": sim.clob_url,
        "POLYMARKET_DATA_API_URL": sim.data_api_url,
    }
    if "kalshi" in venues:
        key_file = tmp_path / "kalshi.pem"
        key_file.write_bytes(creds.kalshi_private_key_pem)
        env |= {"KALSHI_API_KEY_ID": creds.kalshi_key_id, "KALSHI_PRIVATE_KEY_FILE": str(key_file)}
    if "polymarket" in venues:
        env |= {
            "POLYMARKET_ADDRESS": creds.polymarket_address,
            "POLYMARKET_PRIVATE_KEY": creds.polymarket_private_key,
            "POLYMARKET_API_KEY": creds.polymarket_api_key,
            "POLYMARKET_API_SECRET": creds.polymarket_api_secret,
            "POLYMARKET_API_PASSPHRASE": creds.polymarket_api_passphrase,
        }
    return env


def gateway_settings(sim: RunningSim, tmp_path: Path, venues: tuple[str, ...] = ("kalshi", "polymarket")) -> GatewaySettings:
    """The same configuration, loaded in this process (values given explicitly, env ignored)."""
    unset = {"kalshi_api_key_id", "kalshi_private_key", "kalshi_private_key_file", "polymarket_address",
             "polymarket_private_key", "polymarket_api_key", "polymarket_api_secret", "polymarket_api_passphrase"}
    overrides: dict[str, object] = dict.fromkeys(unset)
    overrides |= {name.lower(): value for name, value in gateway_env(sim, tmp_path, venues).items()}
    if "kalshi" in venues:
        overrides["kalshi_private_key"] = sim.credentials.kalshi_private_key_pem.decode()
    return load_settings(GatewaySettings, **overrides)
