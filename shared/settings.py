"""Configuration from the environment (12-factor), `.env`, and `*_FILE` secret files.

Each service declares a `BaseServiceSettings` subclass with only the variables it needs, so a
service that has no business with venue secrets cannot even read them. Every `SecretStr` value
is registered with the log redactor the moment settings load, so it cannot reach a log line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from shared.logs import register_secret


class ConfigError(SystemExit):
    """Raised at start-up for bad configuration; exits with a message naming the variable."""

    def __init__(self, message: str) -> None:
        super().__init__(f"configuration error: {message}")
        self.message = message


class FileSecretsSource(PydanticBaseSettingsSource):
    """`FOO_FILE=/run/secrets/foo` supplies FOO from the file's contents (Docker/K8s secrets)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        prefix = self.settings_cls.model_config.get("env_prefix", "")
        env_name = f"{prefix}{field_name}_FILE".upper()
        path = os.environ.get(env_name)
        if not path:
            return None, field_name, False
        try:
            return Path(path).read_text().strip(), field_name, False
        except OSError as exc:
            raise ConfigError(f"{env_name}: cannot read {path}: {exc.strerror}") from None

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class TrueupSettings(BaseSettings):
    """Sources in priority order: explicit env var, then `<NAME>_FILE`, then `.env`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, FileSecretsSource(settings_cls), dotenv_settings)

    @model_validator(mode="after")
    def _register_secrets(self) -> TrueupSettings:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                register_secret(value.get_secret_value())
        return self


class BaseServiceSettings(TrueupSettings):
    """What every bus-connected service reads."""

    nats_url: str = Field(default="nats://127.0.0.1:4222", pattern=r"^(nats|tls|ws|wss)://")
    bus_namespace: str = Field(default="trueup", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:5432/trueup", pattern=r"^postgres(ql)?://")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    trading_mode: Literal["paper", "live"] = "paper"


SettingsT = TypeVar("SettingsT", bound=TrueupSettings)


def load_settings(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build settings or exit with one line per bad variable, named as the operator types it."""
    prefix = cls.model_config.get("env_prefix", "")
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if not err["loc"]:
                # A check across variables (a model validator) names its variables itself.
                problems.append(str(err.get("ctx", {}).get("error", err["msg"])))
                continue
            variable = (prefix + "_".join(str(part) for part in err["loc"])).upper()
            # Never echo the offending value: it may be a secret.
            problems.append(f"{variable}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from None
