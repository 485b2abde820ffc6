from pydantic import Field

from shared.settings import BaseServiceSettings


class ApiSettings(BaseServiceSettings):
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # How long /api/health waits for each service before calling it down.
    health_timeout_seconds: float = Field(default=1.5, gt=0, le=10)
