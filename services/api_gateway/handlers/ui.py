from __future__ import annotations

from pathlib import Path

from litestar import Response, get
from litestar.static_files import create_static_files_router
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


@get("/", include_in_schema=False)
async def index() -> Response[bytes]:
    return Response((STATIC_DIR / "index.html").read_bytes(), media_type="text/html; charset=utf-8")


@get("/metrics", include_in_schema=False)
async def metrics() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# Everything the page needs is vendored here: no CDN at run time.
static_files = create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False)
