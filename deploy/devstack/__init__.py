"""`make run` and `make up`'s demo secrets: the whole stack on one machine, supervised.

Lives outside `shared/` because it starts, and reads from, the services themselves; `shared/`
never imports a service. Its servers (embedded NATS/Postgres) come from `shared.devstack`, which
the tests use too.
"""
