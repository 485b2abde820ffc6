"""Pure simulator state and rules (no I/O)."""
