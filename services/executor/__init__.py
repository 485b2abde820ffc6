"""executor: Execution plans, orders and their state machine, execution rules, auto-executor and position manager."""
