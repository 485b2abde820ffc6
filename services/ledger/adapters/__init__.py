"""ledger I/O: its Postgres schema `ledger` (migrations/), bus publishers."""
