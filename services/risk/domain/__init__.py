"""Pure risk rules and models: no I/O, unit-tested in microseconds."""
