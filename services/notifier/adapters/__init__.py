"""notifier I/O: its Postgres schema `notifier` (migrations/), bus publishers."""
