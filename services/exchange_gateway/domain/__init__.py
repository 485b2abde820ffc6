"""Pure gateway rules: normalization of venue payloads, budgets, cache policy. No I/O."""
