"""Builds the simulator and serves its three hosts from one process and one event loop:
Kalshi (`/trade-api/v2`), Polymarket Data API and CLOB; `/_sim` admin on each of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from dataclasses import dataclass
from decimal import Decimal

import uvicorn
from litestar import Litestar

from services.venue_sim.adapters.kalshi_auth import KalshiAuthenticator, load_public_key
from services.venue_sim.config import ConfigError, SimSettings, load_settings
from services.venue_sim.demo_credentials import ensure_demo_credentials
from services.venue_sim.domain.clock import Clock, SystemClock
from services.venue_sim.domain.kalshi import KalshiSimConfig
from services.venue_sim.domain.polymarket import PolymarketSimConfig
from services.venue_sim.domain.simulator import Simulator
from services.venue_sim.handlers.admin_http import admin_router
from services.venue_sim.handlers.kalshi_http import build_kalshi_app
from services.venue_sim.handlers.polymarket_admin import polymarket_admin_router
from services.venue_sim.handlers.polymarket_clob import build_clob_app
from services.venue_sim.handlers.polymarket_data_api import build_data_api_app
from services.venue_sim.scenarios.demo import load_scenario
from shared.logs import configure_logging

log = logging.getLogger("venue_sim")


@dataclass(frozen=True)
class SimCredentials:
    """The public halves the sim verifies against (Polymarket's L2 secret is shared by design)."""

    kalshi_key_id: str
    kalshi_public_key_pem: bytes
    polymarket_api_key: str
    polymarket_api_secret: str
    polymarket_api_passphrase: str
    polymarket_address: str


@dataclass(frozen=True)
class SimApps:
    kalshi: Litestar
    data_api: Litestar
    clob: Litestar


def resolve_credentials(settings: SimSettings) -> SimCredentials:
    """Configured values win; anything unset comes from the throwaway demo credentials."""
    if settings.kalshi_key_id and settings.kalshi_public_key_file:
        try:
            pem = settings.kalshi_public_key_file.read_bytes()
        except OSError as exc:
            raise ConfigError(f"SIM_KALSHI_PUBLIC_KEY_FILE: cannot read {settings.kalshi_public_key_file}: {exc}") from None
        kalshi_id = settings.kalshi_key_id
    elif settings.kalshi_key_id or settings.kalshi_public_key_file:
        raise ConfigError("SIM_KALSHI_KEY_ID and SIM_KALSHI_PUBLIC_KEY_FILE must be set together")
    else:
        demo = ensure_demo_credentials(settings.data_dir)
        kalshi_id, pem = demo.kalshi_key_id, demo.kalshi_public_key_file.read_bytes()
    poly = (settings.polymarket_api_key, settings.polymarket_api_secret, settings.polymarket_api_passphrase,
            settings.polymarket_address)
    if not all(poly):
        if any(poly):
            raise ConfigError("SIM_POLYMARKET_API_KEY, _API_SECRET, _API_PASSPHRASE and _ADDRESS must be set together")
        demo = ensure_demo_credentials(settings.data_dir)
        poly = (demo.polymarket_api_key, demo.polymarket_api_secret, demo.polymarket_api_passphrase,
                demo.polymarket_address)
    try:
        load_public_key(pem)
    except ValueError as exc:
        raise ConfigError(f"SIM_KALSHI_PUBLIC_KEY_FILE: not an RSA or Ed25519 public key PEM ({exc})") from None
    return SimCredentials(kalshi_id, pem, *poly)  # type: ignore[arg-type]


def build_simulator(settings: SimSettings, creds: SimCredentials, clock: Clock | None = None) -> Simulator:
    sim = Simulator(
        clock or SystemClock(),
        KalshiSimConfig(),
        PolymarketSimConfig(
            api_key=creds.polymarket_api_key,
            api_secret=creds.polymarket_api_secret,
            api_passphrase=creds.polymarket_api_passphrase,
            address=creds.polymarket_address,
            mined_after_ms=settings.trade_mined_after_ms,
            confirmed_after_ms=settings.trade_confirmed_after_ms,
            failed_share=Decimal(settings.trade_failed_share),
        ),
        kalshi_tier=settings.kalshi_tier,
        seed=settings.seed,
    )
    load_scenario(sim, settings.scenario, settings.seed)
    return sim


def build_apps(sim: Simulator, creds: SimCredentials, skew_ms: int) -> SimApps:
    auth = KalshiAuthenticator(
        creds.kalshi_key_id, load_public_key(creds.kalshi_public_key_pem), skew_ms,
        now_ms=lambda: time.time_ns() // 1_000_000,
    )

    def admin() -> list:
        # Fresh routers per app: Litestar binds a router to the app it is registered on.
        return [admin_router(sim), polymarket_admin_router(sim)]

    data_api, clob = build_data_api_app(sim), build_clob_app(sim)
    for app in (data_api, clob):
        for router in admin():
            app.register(router)
    return SimApps(build_kalshi_app(sim, auth, admin()), data_api, clob)


class _Server(uvicorn.Server):
    """Signals are handled once for all servers (uvicorn's own handler would serve only one)."""

    def capture_signals(self):  # type: ignore[override]
        return contextlib.nullcontext()


def make_server(app: Litestar, host: str, port: int) -> _Server:
    return _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                                  timeout_graceful_shutdown=2))


async def serve_all(servers: list[_Server], sockets: list[socket.socket] | None = None) -> None:
    await asyncio.gather(*(s.serve(sockets=[sock] if sockets else None)
                           for s, sock in zip(servers, sockets or [None] * len(servers))))


async def run(settings: SimSettings) -> None:
    creds = resolve_credentials(settings)
    sim = build_simulator(settings, creds)
    apps = build_apps(sim, creds, settings.kalshi_auth_skew_ms)
    servers = [make_server(apps.kalshi, settings.host, settings.kalshi_port),
               make_server(apps.data_api, settings.host, settings.data_api_port),
               make_server(apps.clob, settings.host, settings.clob_port)]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        log.info("venue-sim stopping")
        for s in servers:
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    base = f"http://{settings.host}"
    log.info("venue-sim scenario=%s seed=%s tier=%s", settings.scenario, settings.seed, settings.kalshi_tier)
    log.info("Kalshi      %s:%d/trade-api/v2  (key id %s)", base, settings.kalshi_port, creds.kalshi_key_id)
    log.info("Data API    %s:%d", base, settings.data_api_port)
    log.info("CLOB        %s:%d", base, settings.clob_port)
    log.info("admin       %s:%d/_sim/state (on every host)", base, settings.kalshi_port)
    await serve_all(servers)


def main() -> None:
    configure_logging("venue-sim")
    try:
        settings = load_settings()
        asyncio.run(run(settings))
    except ConfigError as exc:
        raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    main()
