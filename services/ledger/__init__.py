"""ledger: Fills journal (append-only, idempotent by venue+fill id), positions, PnL, marks, portfolio snapshots and trade audit."""
