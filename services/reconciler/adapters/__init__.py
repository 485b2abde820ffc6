"""reconciler I/O: its Postgres schema `reconciler` (migrations/), bus publishers."""
