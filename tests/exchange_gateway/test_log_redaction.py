"""Real signed requests of both venues, logged every way a developer might, through the real
`configure_logging` output: not one secret value (or its base64 form) reaches stdout."""

from __future__ import annotations

import base64
import json
import logging
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest
import structlog

from services.exchange_gateway.adapters.kalshi_client import KalshiClient
from services.exchange_gateway.adapters.kalshi_signing import KalshiSigner
from services.exchange_gateway.adapters.polymarket_client import PolymarketClient
from services.exchange_gateway.adapters.venue import VenueError
from services.exchange_gateway.adapters.venues import build_venue_clients
from services.exchange_gateway.settings import GatewaySettings
from shared.logs import REDACTED, configure_logging, get_logger
from shared.settings import load_settings

ORDER_BODY = '{"order":{"tokenId":"71321045679252212594626385532706912750332728571942532289631379312455583992563","side":"BUY"}}'


@pytest.fixture
def gateway_stdout(capsys) -> Iterator[Callable[[], Callable[[], str]]]:
    """Starts the gateway's logging for real (JSON lines on stdout, DEBUG) and returns a reader of
    what it printed; the process's logging is put back afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, sys.excepthook, structlog.get_config())

    def start() -> Callable[[], str]:
        # Called from the test itself: pytest swaps the captured stdout between setup and call.
        capsys.readouterr()
        configure_logging("exchange-gateway", "DEBUG")
        return lambda: capsys.readouterr().out

    yield start
    handlers, level, excepthook, structlog_config = saved
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook = excepthook
    structlog.configure(**structlog_config)
    structlog.contextvars.clear_contextvars()


def _settings(signing_vectors: dict) -> GatewaySettings:
    rsa = signing_vectors["kalshi"]["rsa_pss_vectors_sdk_3_2_0"]
    l2 = signing_vectors["polymarket"]["l2_headers_GET_data_orders"]
    return load_settings(
        GatewaySettings,
        kalshi_base_url="https://kalshi.test/trade-api/v2",
        kalshi_api_key_id=rsa["vectors"][0]["headers"]["KALSHI-ACCESS-KEY"],
        kalshi_private_key=rsa["test_private_key_pem_pkcs8"],
        kalshi_private_key_file=None,
        polymarket_clob_url="https://clob.test",
        polymarket_data_api_url="https://data.test",
        polymarket_address=l2["headers"]["POLY_ADDRESS"],
        polymarket_private_key=l2["signer_private_key"],
        polymarket_api_key=l2["api_key"],
        polymarket_api_secret=l2["api_secret"],
        polymarket_api_passphrase=l2["api_passphrase"],
    )


def _sign(client: httpx.AsyncClient, auth: Callable[[httpx.Request], dict], method: str, path: str, **kw) -> httpx.Request:
    """Exactly what VenueHttp does before sending: build, then add the auth hook's headers."""
    request = client.build_request(method, path, **kw)
    request.headers.update(auth(request))
    return request


def _secret_forms(settings: GatewaySettings, signing_vectors: dict, requests: list[httpx.Request]) -> set[str]:
    values = [settings.kalshi_api_key_id.get_secret_value(), settings.polymarket_api_key.get_secret_value(),
              settings.polymarket_api_secret.get_secret_value(), settings.polymarket_api_passphrase.get_secret_value(),
              settings.polymarket_private_key.get_secret_value(),
              settings.polymarket_private_key.get_secret_value().removeprefix("0x")]
    values += [r.headers[h] for r in requests for h in ("KALSHI-ACCESS-SIGNATURE", "POLY_SIGNATURE") if h in r.headers]
    forms = set(values)
    for value in values:
        forms |= {base64.b64encode(value.encode()).decode(), base64.urlsafe_b64encode(value.encode()).decode()}
    for pem in (settings.kalshi_private_key.get_secret_value(),
                signing_vectors["kalshi"]["ed25519_vector_sdk_3_34_0"]["private_key_pem_pkcs8"]):
        body = [line for line in pem.splitlines() if line and "-----" not in line]
        forms |= {*body, "".join(body)}
    return {f for f in forms if len(f) >= 6}


def _log_every_way(request: httpx.Request) -> None:
    log = get_logger("exchange_gateway.debugging")
    std = logging.getLogger("exchange_gateway.stdlib")
    log.info("signed request", headers=request.headers)
    log.info("signed request", headers=dict(request.headers), pairs=list(request.headers.items()),
             raw=request.headers.raw)
    log.debug(f"sending {request.method} {request.url} with {request.headers}")
    log.debug("sending %s", request.headers)
    log.debug("\n".join(f"{name}: {value}" for name, value in request.headers.items()))
    log.info("request", request=request, text=repr(request), kwargs=json.dumps(dict(request.headers)))
    std.info("stdlib sending %s", request.headers)
    std.info("stdlib sending %r", dict(request.headers))
    log.warning("venue call failed", error=RuntimeError(request.headers))
    try:
        raise VenueError("kalshi", f"call failed; headers were {request.headers}")
    except VenueError:
        log.exception("venue call failed")
    try:
        raise RuntimeError(dict(request.headers))
    except RuntimeError:
        std.exception("stdlib traceback")
        sys.excepthook(*sys.exc_info())  # as if it escaped: the uncaught-exception hook


async def test_signed_requests_of_both_venues_leave_no_secret_in_the_log_output(gateway_stdout, signing_vectors) -> None:
    read_stdout = gateway_stdout()
    settings = _settings(signing_vectors)
    clients = build_venue_clients(settings)
    kalshi, poly = clients["kalshi"], clients["polymarket"]
    assert isinstance(kalshi, KalshiClient) and isinstance(poly, PolymarketClient)
    ed = signing_vectors["kalshi"]["ed25519_vector_sdk_3_34_0"]
    ed_signer = KalshiSigner.from_pem(ed["headers"]["KALSHI-ACCESS-KEY"], ed["private_key_pem_pkcs8"])
    try:
        requests = [
            _sign(kalshi.http.client, kalshi.http.auth, "GET", "portfolio/fills", params={"limit": 5}),
            _sign(kalshi.http.client, ed_signer, "POST", "portfolio/orders", json={"ticker": "KXT", "count": 1}),
            _sign(poly.clob.client, poly.clob.auth, "GET", "/data/orders", params={"next_cursor": "MA=="}),
            _sign(poly.clob.client, poly.clob.auth, "POST", "/order", content=ORDER_BODY.encode()),
        ]
        assert {"kalshi-access-key", "kalshi-access-signature"} <= set(requests[0].headers)
        assert {"poly_api_key", "poly_signature", "poly_passphrase"} <= set(requests[3].headers)
        for request in requests:
            _log_every_way(request)
        log = get_logger("exchange_gateway.debugging")
        log.info("configuration", settings=settings, signer=kalshi.http.auth, credentials=poly.credentials)
        log.info(f"loaded key {settings.kalshi_private_key.get_secret_value()}")
        for value in (settings.kalshi_api_key_id, settings.polymarket_api_key, settings.polymarket_api_secret,
                      settings.polymarket_api_passphrase, settings.polymarket_private_key):
            raw = value.get_secret_value().encode()
            log.info("encoded %s %s", base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode())
            log.info("plain", note=f"value was {raw.decode()}")
    finally:
        for client in clients.values():
            await client.aclose()

    out = read_stdout()
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) >= 4 * 12 and all(line["service"] == "exchange-gateway" for line in lines)
    leaked = sorted(form for form in _secret_forms(settings, signing_vectors, requests) if form in out)
    assert leaked == [], f"{len(leaked)} secret forms reached the log output"
    # Redaction is targeted: what an operator needs to read is still there.
    assert REDACTED in out and "kalshi-access-timestamp" in out
    assert settings.polymarket_address in out, "POLY_ADDRESS is public on-chain and stays readable"
    assert "/trade-api/v2/portfolio/fills" in out and "stdlib traceback" in out and "uncaught exception" in out
