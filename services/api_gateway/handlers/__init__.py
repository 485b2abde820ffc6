"""HTTP controllers, one module per domain area (litestar-fullstack style)."""
