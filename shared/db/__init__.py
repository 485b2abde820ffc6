from shared.db.arrays import numeric_texts
from shared.db.migrations import MigrationError, apply_migrations
from shared.db.pool import create_pool
from shared.db.roles import provision_service_roles

__all__ = ["MigrationError", "apply_migrations", "create_pool", "numeric_texts", "provision_service_roles"]
