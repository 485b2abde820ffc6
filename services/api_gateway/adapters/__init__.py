"""api-gateway I/O: the bus client used to ask other services."""
