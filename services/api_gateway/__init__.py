"""api-gateway: the HTTP API and web UI. Asks the other services over the bus; never holds venue secrets."""
