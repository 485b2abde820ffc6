"""exchange-gateway: the only process holding venue secrets; venue adapters, rate budgets, fill polling."""
