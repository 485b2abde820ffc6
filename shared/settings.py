"""Configuration from the environment (12-factor), `.env`, and `*_FILE` secret files.

Each service declares a `BaseServiceSettings` subclass with only the variables it needs, so a
service that has no business with venue secrets cannot even read them. Every `SecretStr` value
is registered with the log redactor the moment settings load, so it cannot reach a log line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

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
    # Read by shared.logs.configure_logging before settings load; declared so it is validated.
    log_format: Literal["auto", "json", "console"] = "auto"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    trading_mode: Literal["paper", "live"] = "paper"
    # The bus (shared.bus.BusConfig): stream size and retention, applied by the admin step
    # (shared.bus.provision) on create and to an existing stream; 3 on a 3-node JetStream cluster
    # (deploy/nats/README.md).
    bus_stream_replicas: int = Field(default=1, ge=1, le=5)
    bus_events_max_age_days: float = Field(default=30, gt=0)
    bus_dead_letter_max_age_days: float = Field(default=90, gt=0)
    # A consumer tries a message this many times (waiting the backoff between), then dead-letters it.
    bus_max_deliver: int = Field(default=5, ge=1, le=100)
    bus_redelivery_backoff_seconds: Annotated[tuple[float, ...], NoDecode] = Field(
        default=(1.0, 5.0, 30.0, 60.0), min_length=1)

    @model_validator(mode="after")
    def _register_nats_password(self) -> BaseServiceSettings:
        """NATS_URL carries the service's own NATS password: no log line may show it."""
        register_secret(urlsplit(self.nats_url).password)
        return self

    @field_validator("bus_redelivery_backoff_seconds", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """`BUS_REDELIVERY_BACKOFF_SECONDS=1,5,30`, as an operator writes a list."""
        return tuple(part.strip() for part in value.split(",")) if isinstance(value, str) else value

    @field_validator("bus_redelivery_backoff_seconds")
    @classmethod
    def _positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(seconds <= 0 for seconds in value):
            raise ValueError("every wait must be above 0 seconds")
        return value


SettingsT = TypeVar("SettingsT", bound=TrueupSettings)

# Variables some services declare beyond BaseServiceSettings. Listed by hand because shared/ imports
# nothing from services/; tests/shared/test_strict_settings.py keeps the list equal to the union of
# every service's settings class.
SERVICE_SETTINGS = frozenset({
    # api-gateway
    "API_HOST", "API_PORT", "API_TOKEN", "HEALTH_TIMEOUT_SECONDS",
    # exchange-gateway (its KALSHI_* and POLYMARKET_* variables fall under RESERVED_PREFIXES)
    "POSITIONS_CACHE_TTL_SECONDS", "FILL_POLL_INTERVAL_SECONDS", "SETTLEMENT_POLL_INTERVAL_SECONDS",
    "FEED_STALL_SECONDS", "MARK_INTERVAL_SECONDS", "HTTP_TIMEOUT_SECONDS", "VENUE_READ_DEADLINE_SECONDS",
    # ledger
    "INGEST_BATCH_MAX_MESSAGES", "INGEST_BATCH_MAX_WAIT_SECONDS", "PORTFOLIO_SNAPSHOT_INTERVAL_SECONDS",
    # reconciler
    "RECONCILE_INTERVAL_SECONDS", "RECONCILE_DUST_TOLERANCE",
    # The notifier's alert delivery is not built yet: until it is, every service refuses these
    # rather than let an operator believe alerts are going out.
    "DISCORD_WEBHOOK_URL", "SLACK_WEBHOOK_URL", "ALERT_WEBHOOK_URL",
})
# Whole namespaces trueup owns: the venues' variables (exchange-gateway's) and the simulator's.
RESERVED_PREFIXES = ("KALSHI_", "POLYMARKET_", "SIM_")


def env_names(cls: type[TrueupSettings]) -> frozenset[str]:
    """The variable names `cls` reads, as the operator types them (`*_FILE` forms not included)."""
    prefix = cls.model_config.get("env_prefix", "")
    return frozenset(f"{prefix}{name}".upper() for name in cls.model_fields)


def trueup_owns(name: str) -> bool:
    """True when `name` is some trueup service's setting or lies in a namespace trueup reserves."""
    return name in env_names(BaseServiceSettings) or name in SERVICE_SETTINGS or name.startswith(RESERVED_PREFIXES)


def undeclared_settings(declared: frozenset[str], given: Iterable[str], prefix: str = "") -> list[str]:
    """Which of the `given` variable names a settings class (reading `declared`) would silently drop.

    A name counts only when trueup owns it (see `trueup_owns`); anything else in an environment
    (PATH, HOME, another program's settings) is none of a service's business. A class with an env
    prefix (the simulator's `SIM_`) is a standalone tool configured only through that namespace, so
    it judges only names inside it. `NAME_FILE` is judged as NAME, as it supplies NAME.
    """
    refused = []
    for raw in given:
        name = raw.upper()
        if name in declared:
            continue
        base = name.removesuffix("_FILE")
        if base in declared:
            continue
        owned = base.startswith(prefix) if prefix else trueup_owns(base)
        if owned and name not in refused:
            refused.append(name)
    return refused


def _given_names(cls: type[TrueupSettings]) -> list[str]:
    """What the service is given: every environment variable and every `.env` entry (the file the
    settings read, in the working directory)."""
    names = list(os.environ)
    env_files = cls.model_config.get("env_file")
    for env_file in [env_files] if isinstance(env_files, (str, Path)) else (env_files or ()):
        if Path(env_file).is_file():
            names += [name for name in dotenv_values(env_file) if name not in names]
    return names


def _service_name(cls: type[TrueupSettings]) -> str:
    parts = cls.__module__.split(".")
    return parts[1].replace("_", "-") if parts[0] == "services" and len(parts) > 1 else cls.__name__


def load_settings(cls: type[SettingsT], *, service: str | None = None, strict: bool = True, **overrides: Any) -> SettingsT:
    """Build settings or exit with one line per bad variable, named as the operator types it.

    `strict` (every service's start) also refuses a trueup setting this class does not implement —
    given in the environment or `.env`, or as an override — so nothing configured is silently
    ignored. Only a tool reading a service's connection settings inside that service's environment
    (the container healthcheck) passes `strict=False`.
    """
    prefix = cls.model_config.get("env_prefix", "")
    if strict:
        who = service or _service_name(cls)
        refused = undeclared_settings(env_names(cls), _given_names(cls), prefix.upper())
        refused += [name.upper() for name in overrides if name not in cls.model_fields]
        if refused:
            raise ConfigError("; ".join(f"{name} is not a setting of {who}; remove it" for name in refused))
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
