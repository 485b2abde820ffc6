"""Development and CI infrastructure: embedded NATS/Postgres, provisioning, `make run`."""
