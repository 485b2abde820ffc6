"""reconciler: Reconciliation runs and their items, instrument mappings: external holdings (gateway) vs internal ledger vs open orders."""
