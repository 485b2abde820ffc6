"""Each service's own Postgres role in a test database, made once per database (as `make run` does
at start) so every stack of a session shares the same passwords."""

from __future__ import annotations

import concurrent.futures
import functools
from urllib.parse import urlsplit

from shared.db.roles import SERVICE_SCHEMAS, provision_service_roles


@functools.cache
def service_database_urls(database_url: str) -> dict[str, str]:
    """Service name -> its role's DSN; `database_url` is the superuser's DSN of that database."""
    database = urlsplit(database_url).path.lstrip("/")
    # Its own loop, in a worker thread: callers are often inside a running test loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(provision_service_roles, database_url, database, SERVICE_SCHEMAS).result()
