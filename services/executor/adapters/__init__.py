"""executor I/O: its Postgres schema `executor` (migrations/), bus publishers."""
