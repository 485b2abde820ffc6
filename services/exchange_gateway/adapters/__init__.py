"""Gateway I/O: Kalshi and Polymarket HTTP clients, its Postgres schema `gateway`, bus publishers."""
