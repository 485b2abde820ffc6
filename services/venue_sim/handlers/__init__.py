"""HTTP wiring of the simulator (Litestar apps, ASGI middleware)."""
