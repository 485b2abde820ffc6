"""risk: Limits, trading state (ACTIVE / REDUCING / HALTED), kill-switch triggers and events, trading mode (paper/live)."""
