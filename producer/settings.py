"""Producer settings: the flags of `python -m producer` and the PRODUCER_* environment variables.

One frozen object; every field is both a kebab-case flag and an environment variable
(`--label-delay 2` == `PRODUCER_LABEL_DELAY=2`; flags win over the environment). Booleans are
flags with a negation (`--labels` / `--no-labels`). `kafka_config` takes JSON
(`--kafka-config '{"security.protocol": "SASL_SSL"}'`) or repeated `key=value` flags; its values
are `SecretStr` and never logged.

How a run is bounded: `events` (default 10,000) and/or `duration` seconds, whichever comes first.
Giving only `duration` (flag or env) drops the default event count, so `--duration 60` really runs
for 60 s; give both to stop at the first one reached.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from common.contracts.topics import EVENTS_TOPIC, LABELS_TOPIC, MAX_TOPIC_NAME_LENGTH
from common.settings import cli_settings_config
from producer.scenarios import SCENARIOS

_RUN_ID = re.compile(r"^[A-Za-z0-9._]{1,64}$")

Compression = Literal["none", "gzip", "snappy", "lz4", "zstd"]


class ProducerSettings(BaseSettings):
    """Simulate the diamond event stream into Kafka (and, with --labels, delayed true prices).

    Every flag is also an environment variable: --label-delay 2 == PRODUCER_LABEL_DELAY=2.
    """

    model_config = cli_settings_config(
        env_prefix="PRODUCER_", prog_name="python -m producer", implicit_flags=True
    )

    bootstrap_servers: str = Field(default="127.0.0.1:9092", min_length=1,
                                   description="Kafka brokers")
    topic: str = Field(default=EVENTS_TOPIC, min_length=1, max_length=MAX_TOPIC_NAME_LENGTH,
                       description="event topic")
    events: int | None = Field(default=10_000, ge=1, description="number of events to send")
    duration: float | None = Field(default=None, gt=0, description="seconds to run")
    rate: float = Field(default=1000.0, ge=0, le=10_000_000,
                        description="events/s; 0 = unlimited")
    scenario: str = Field(default="baseline", description=f"one of: {', '.join(SCENARIOS)}")
    seed: int = Field(default=42, ge=0, description="seed of the sampling and scenario draws")
    drift_onset: int = Field(default=0, ge=0, description="event index where the drift starts")
    drift_ramp: int = Field(default=10_000, ge=1,
                            description="events for gradual drift to reach full strength")
    drift_strength: float = Field(default=1.0, ge=0, le=10,
                                  description="1.0 = the documented shift")
    partitions: int = Field(default=3, ge=1, le=10_000,
                            description="partitions of the topics we create")
    replication_factor: int = Field(default=1, ge=1, le=32,
                                    description="replication factor of the topics we create")
    create_topics: bool = Field(default=True, description="create missing topics at start")
    labels: bool = Field(default=False, description="also publish delayed ground-truth prices")
    labels_topic: str = Field(default=LABELS_TOPIC, min_length=1,
                              max_length=MAX_TOPIC_NAME_LENGTH, description="ground-truth topic")
    label_delay: float = Field(default=5.0, ge=0, le=3600,
                               description="seconds between an event and its label")
    wait_labels: bool = Field(
        default=True, description="at the end, wait for pending labels' delay (no: send at once)"
    )
    max_pending_labels: int = Field(
        default=200_000, ge=1, description="labels held back at most; the producer waits if full"
    )
    run_id: str | None = Field(default=None,
                               description="event_id prefix; default: a random 8-hex id")
    progress_interval: float = Field(default=5.0, gt=0,
                                     description="seconds between progress lines")
    linger_ms: int = Field(default=10, ge=0, le=900_000, description="librdkafka linger.ms")
    compression: Compression = Field(default="lz4", description="librdkafka compression.type")
    flush_timeout: float = Field(default=30.0, gt=0,
                                 description="seconds to wait for the final flush")
    admin_timeout: float = Field(default=30.0, gt=0,
                                 description="seconds for metadata and topic creation")
    kafka_config: dict[str, SecretStr] = Field(
        default_factory=dict, description="librdkafka pass-through (security.protocol, sasl.*)"
    )

    @model_validator(mode="before")
    @classmethod
    def _duration_replaces_default_count(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("duration") is not None and "events" not in data:
            return {**data, "events": None}
        return data

    @model_validator(mode="after")
    def _bounded(self) -> ProducerSettings:
        if self.events is None and self.duration is None:
            raise ValueError("events and duration are both null: set at least one to bound the run")
        if self.labels and self.labels_topic == self.topic:
            raise ValueError(f"labels_topic {self.labels_topic!r} must differ from topic")
        return self

    @field_validator("scenario")
    @classmethod
    def _known_scenario(cls, value: str) -> str:
        if value not in SCENARIOS:
            raise ValueError(f"unknown scenario {value!r}; expected one of {', '.join(SCENARIOS)}")
        return value

    @field_validator("run_id")
    @classmethod
    def _run_id_shape(cls, value: str | None) -> str | None:
        if value is not None and not _RUN_ID.match(value):
            raise ValueError(
                f"run_id {value!r} must be 1-64 characters of letters, digits, '.' or '_'"
            )
        return value
