"""How big the streams are and how long a consumer keeps trying one message: from settings."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import BaseServiceSettings

_DAY_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class BusConfig:
    stream_replicas: int
    events_max_age_seconds: float
    dead_letter_max_age_seconds: float
    # A message whose handler fails is tried this many times, then dead-lettered.
    max_deliver: int
    # Wait before the 2nd, 3rd... attempt; the last value repeats for any attempt beyond the list.
    redelivery_backoff_seconds: tuple[float, ...]

    @classmethod
    def from_settings(cls, settings: BaseServiceSettings) -> BusConfig:
        return cls(
            stream_replicas=settings.bus_stream_replicas,
            events_max_age_seconds=settings.bus_events_max_age_days * _DAY_SECONDS,
            dead_letter_max_age_seconds=settings.bus_dead_letter_max_age_days * _DAY_SECONDS,
            max_deliver=settings.bus_max_deliver,
            redelivery_backoff_seconds=settings.bus_redelivery_backoff_seconds,
        )

    @classmethod
    def defaults(cls) -> BusConfig:
        """The settings' defaults, whatever the environment says (tests, tools)."""
        return cls.from_settings(BaseServiceSettings.model_construct())

    def backoff_before(self, attempt: int) -> float:
        """Seconds to wait before delivery number `attempt` (2 = the first retry)."""
        return self.redelivery_backoff_seconds[min(attempt - 2, len(self.redelivery_backoff_seconds) - 1)]
