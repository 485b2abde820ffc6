"""Polymarket L1/L2 auth and V2 order signatures: official vectors, then over real HTTP."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from services.venue_sim.adapters.polymarket_auth import (
    NEG_RISK_EXCHANGE,
    STANDARD_EXCHANGE,
    ApiCredentials,
    AuthError,
    hmac_signature,
    l2_headers,
    order_typed_data,
    recover_order_signer,
    verify_l1,
    verify_l2,
)
from services.venue_sim.domain.polymarket_math import order_amounts
from services.venue_sim.scenarios.polymarket_demo import load_polymarket_demo
from tests.support.venue_sim import running_sim

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "vectors.json").read_text())["polymarket"]
L2 = VECTORS["l2_headers_GET_data_orders"]
CREDS = ApiCredentials(L2["api_key"], L2["api_secret"], L2["api_passphrase"], L2["headers"]["POLY_ADDRESS"])
V2 = VECTORS["v2_signed_order_py_clob_client_v2"]
WRONG_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


@pytest.mark.parametrize("case", VECTORS["l2_hmac_vectors"], ids=lambda c: f"{c['method']} {c['request_path']}")
def test_every_l2_hmac_vector_reproduces(case: dict) -> None:
    body = case["body"]
    assert hmac_signature(case["secret_urlsafe_b64"], case["timestamp"], case["method"], case["request_path"], body) == (
        case["POLY_SIGNATURE_polymarket_client_0_14_0"]
    )
    # py-clob-client signs the body with ' rewritten to "; the venue accepts either form.
    rewritten = body.replace("'", '"') if body else body
    assert hmac_signature(case["secret_urlsafe_b64"], case["timestamp"], case["method"], case["request_path"], rewritten) == (
        case["POLY_SIGNATURE_py_clob_client_0_34_6"]
    )


def test_l2_headers_vector_and_both_apostrophe_forms_verify() -> None:
    assert l2_headers(CREDS, 1700000000, "GET", "/data/orders", None) == L2["headers"]
    case = next(c for c in VECTORS["l2_hmac_vectors"] if c["body"] and "'" in c["body"])
    creds = ApiCredentials(CREDS.api_key, case["secret_urlsafe_b64"], CREDS.passphrase, CREDS.address)
    for signature in (case["POLY_SIGNATURE_polymarket_client_0_14_0"], case["POLY_SIGNATURE_py_clob_client_0_34_6"]):
        headers = {**l2_headers(creds, 1700000000, "POST", "/order", case["body"]), "POLY_SIGNATURE": signature}
        verify_l2(headers, "POST", "/order", case["body"].encode(), creds, now_s=1700000000)
    with pytest.raises(AuthError):
        verify_l2(L2["headers"], "GET", "/data/orders", b"", CREDS, now_s=1700000000 + 3600)  # stale


def test_v2_order_vector_recovers_to_the_expected_address() -> None:
    order = json.loads(V2["post_order_body_exact"])["order"]
    assert V2["eip712_domain"]["verifyingContract"] == STANDARD_EXCHANGE
    assert recover_order_signer(order, 137, STANDARD_EXCHANGE) == V2["inputs"]["signer"]
    # The same signature checked against the neg-risk exchange's domain is someone else's.
    assert recover_order_signer(order, 137, NEG_RISK_EXCHANGE) != V2["inputs"]["signer"]


def test_l1_clob_auth_vector_verifies() -> None:
    l1 = VECTORS["l1_clob_auth"]
    assert verify_l1(l1["headers_from_create_level_1_headers"], 137, now_s=l1["timestamp"]) == l1["headers_from_create_level_1_headers"]["POLY_ADDRESS"]
    with pytest.raises(AuthError):
        verify_l1({**l1["headers_from_create_level_1_headers"], "POLY_NONCE": "1"}, 137, now_s=l1["timestamp"])


# ---- over HTTP ----------------------------------------------------------------------------


def _signed(method: str, path: str, body: str | None = None, creds: ApiCredentials = CREDS) -> dict[str, str]:
    return l2_headers(creds, int(time.time()), method, path, body)


def _ensure_demo(handle) -> None:
    if not handle.sim.polymarket.markets:
        load_polymarket_demo(handle.sim.polymarket, seed=1)


def _order_body(handle, private_key: str, price: str, size: str, side: str = "BUY") -> str:
    """A V2 order for the demo's first market, signed with `private_key` for the sim's account."""
    ex = handle.sim.polymarket
    market = next(m for m in ex.markets.values() if m.winner_index is None)
    maker_amount, taker_amount = order_amounts(side, Decimal(price), Decimal(size))
    order = {
        "salt": int(time.time_ns() % 10**12),
        "maker": ex.config.address,
        "signer": ex.config.address,
        "tokenId": market.tokens[0].token_id,
        "makerAmount": str(maker_amount),
        "takerAmount": str(taker_amount),
        "side": side,
        "expiration": "0",
        "signatureType": 0,
        "timestamp": str(time.time_ns() // 1_000_000),
        "metadata": "0x" + "00" * 32,
        "builder": "0x" + "00" * 32,
    }
    exchange = NEG_RISK_EXCHANGE if market.neg_risk else STANDARD_EXCHANGE
    signed = Account.sign_message(encode_typed_data(full_message=order_typed_data(order, 137, exchange)), private_key)
    order["signature"] = "0x" + signed.signature.hex().removeprefix("0x")
    return json.dumps({"order": order, "owner": ex.config.api_key, "orderType": "GTC", "postOnly": False},
                      separators=(",", ":"))


async def test_l2_over_http_accepts_valid_and_rejects_tampering() -> None:
    async with running_sim() as h, httpx.AsyncClient(base_url=h.clob_url) as http:
        _ensure_demo(h)
        ok = await http.get("/data/orders", params={"next_cursor": "MA=="}, headers=_signed("GET", "/data/orders"))
        assert ok.status_code == 200, ok.text
        assert ok.json()["next_cursor"] == "LTE="

        wrong_pass = {**_signed("GET", "/data/orders"), "POLY_PASSPHRASE": "not-the-passphrase"}
        denied = await http.get("/data/orders", headers=wrong_pass)
        assert denied.status_code == 401 and "error" in denied.json()

        stale = l2_headers(CREDS, int(time.time()) - 3600, "GET", "/data/orders", None)
        assert (await http.get("/data/orders", headers=stale)).status_code == 401

        body = json.dumps({"orderID": "0xabc123"}, separators=(",", ":"))
        tampered = body.replace("abc", "abd")
        resp = await http.request("DELETE", "/order", content=tampered, headers=_signed("DELETE", "/order", body))
        assert resp.status_code == 401 and "error" in resp.json()
        resp = await http.request("DELETE", "/order", content=body, headers=_signed("DELETE", "/order", body))
        assert resp.status_code == 200
        assert resp.json() == {"canceled": [], "not_canceled": {"0xabc123": "order not found"}}


async def test_v2_orders_signed_by_the_wrong_key_or_v1_are_rejected_and_right_key_accepted() -> None:
    async with running_sim() as h, httpx.AsyncClient(base_url=h.clob_url) as http:
        _ensure_demo(h)
        before = len(h.sim.polymarket.orders)

        forged = _order_body(h, WRONG_KEY, "0.05", "10")
        resp = await http.post("/order", content=forged, headers=_signed("POST", "/order", forged))
        assert resp.status_code == 400 and resp.json()["error"] == "invalid signature"

        v1 = VECTORS["v1_signed_order_py_order_utils"]["post_order_body_exact"]
        resp = await http.post("/order", content=v1, headers=_signed("POST", "/order", v1))
        assert resp.status_code == 400 and resp.json()["error"] == "order_version_mismatch"
        assert len(h.sim.polymarket.orders) == before

        good = _order_body(h, L2["signer_private_key"], "0.05", "10")
        resp = await http.post("/order", content=good, headers=_signed("POST", "/order", good))
        assert resp.status_code == 200, resp.text
        placed = resp.json()
        assert placed["success"] is True and placed["status"] == "live" and placed["errorMsg"] == ""
        # Idempotency: the identical signed order never becomes a second order.
        again = await http.post("/order", content=good, headers=_signed("POST", "/order", good))
        assert again.status_code == 400 and "Duplicated" in again.json()["error"]
        assert len(h.sim.polymarket.orders) == before + 1

        got = await http.get(f"/data/order/{placed['orderID']}", headers=_signed("GET", f"/data/order/{placed['orderID']}"))
        assert got.status_code == 200
        assert got.json()["status"] == "LIVE" and got.json()["original_size"] == "10" and got.json()["price"] == "0.05"

        off_tick = _order_body(h, L2["signer_private_key"], "0.055", "10")
        resp = await http.post("/order", content=off_tick, headers=_signed("POST", "/order", off_tick))
        assert resp.status_code == 400 and "tick size" in resp.json()["error"]
