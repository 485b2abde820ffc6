from pydantic import Field, SecretStr, field_validator

from shared.settings import BaseServiceSettings

MIN_TOKEN_LENGTH = 32


class ApiSettings(BaseServiceSettings):
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # Required: every route but /api/health needs it (or a session from a login link it minted).
    # `make run` and `make up` generate one.
    api_token: SecretStr
    # How long /api/health waits for each service before calling it down.
    health_timeout_seconds: float = Field(default=1.5, gt=0, le=10)

    @field_validator("api_token")
    @classmethod
    def _long_enough_to_never_guess(cls, token: SecretStr) -> SecretStr:
        if len(token.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters "
                             "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
        return token
