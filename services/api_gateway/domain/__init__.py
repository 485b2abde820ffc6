"""Pure API rules: how per-service answers combine into one health verdict, etc."""
