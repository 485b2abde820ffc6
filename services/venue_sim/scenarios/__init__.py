"""Deterministic, seeded simulator scenarios."""
