"""risk I/O: its Postgres schema `risk` (migrations/), bus publishers."""
