"""Venue simulator: a faithful local Kalshi Trade API v2 + Polymarket (Data API, CLOB) server.

Dev/test/demo only. `python -m services.venue_sim` serves three hosts from one process that
share one in-memory state: Kalshi on SIM_KALSHI_PORT (8100, under /trade-api/v2), the
Polymarket Data API on 8101 and the CLOB on 8102. Settings: services/venue_sim/config.py.
Without configured credentials the sim generates throwaway ones into SIM_DATA_DIR.

Admin API (not a venue protocol, no auth), under /_sim on every host:
  GET    /_sim/state                          both venues, faults, clock, scenario
  POST   /_sim/scenario {"name","seed"}       reset + load: empty | markets | demo
  POST   /_sim/faults {"venue", ...}          latency_ms, error_rate, timeout_after_accept,
                                              fail_pages {"fills": 3}, malformed_json
  DELETE /_sim/faults[?venue=]                clear
  POST   /_sim/clock/advance {"ms"}           only when running on a ManualClock (else 409)
  GET    /_sim/kalshi/state | /_sim/kalshi/requests (DELETE resets the counts)
  POST   /_sim/kalshi/tier {"tier"}           basic | advanced | premier | prime
  POST   /_sim/kalshi/external-trades         {"ticker","side":"bid|ask","count","price"} or
                                              {"ticker","side":"yes|no","action":"buy|sell",...}
  POST   /_sim/kalshi/markets/{t}/trade       another participant's IOC order crossing the book
  POST   /_sim/kalshi/markets/{t}/liquidity   {"side":"yes|no","price","count"} resting bid
  POST   /_sim/kalshi/markets/{t}/settle      {"result":"yes|no", "expiration_value"?}
  POST   /_sim/kalshi/fills/malformed         {} or {"row": {...}}: a garbage fill row, listed verbatim
  POST   /_sim/polymarket/trades/malformed    {} or {"row": {...}}: a garbage /data/trades row, served verbatim
  POST   /_sim/polymarket/transfers           {"asset","size" (signed),"avg_price"?}: outcome tokens moved
                                              into or out of the wallet, not a trade (/positions changes,
                                              the trade history does not)
  /_sim/polymarket/...                        see handlers/polymarket_admin.py
In tests use tests.support.venue_sim.running_sim().
"""
