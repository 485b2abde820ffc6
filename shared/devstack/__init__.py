"""Development and CI infrastructure: embedded NATS/Postgres and provisioning (tests and `make run`)."""
