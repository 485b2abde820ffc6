"""Simulator adapters (crypto verification, key files)."""
