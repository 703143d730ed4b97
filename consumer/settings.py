"""Consumer settings: the flags of `python -m consumer` and the CONSUMER_* environment variables.

One frozen object; a flag and its environment variable are the same setting
(`--batch-size 500` == `CONSUMER_BATCH_SIZE=500`). `kafka_config` passes librdkafka properties
(security.protocol, sasl.*, ssl.*) to every client; its values are secrets and never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.artifact import DEFAULT_ARTIFACT_DIR
from model.schema import MAX_EVENT_BYTES

Guarantee = Literal["exactly-once", "at-least-once"]

# librdkafka properties the service owns: overriding them would break the delivery guarantee.
RESERVED_KAFKA_KEYS = frozenset(
    {
        "bootstrap.servers",
        "group.id",
        "enable.auto.commit",
        "enable.auto.offset.store",
        "isolation.level",
        "transactional.id",
        "enable.idempotence",
        "acks",
        "request.required.acks",
    }
)


class ConsumerSettings(BaseSettings):
    """Settings of the scoring service (frozen)."""

    model_config = SettingsConfigDict(
        env_prefix="CONSUMER_",
        frozen=True,
        cli_kebab_case=True,
        cli_prog_name="python -m consumer",
    )

    bootstrap_servers: str = Field("127.0.0.1:9092", min_length=1, description="Kafka brokers")
    input_topic: str = Field("diamonds.events", min_length=1, description="events to score")
    output_topic: str = Field("diamonds.predictions", min_length=1, description="predictions")
    dlq_topic: str = Field("diamonds.dlq", min_length=1, description="dead-letter topic")
    group_id: str = Field("diamond-scorer", min_length=1, description="consumer group")
    model_path: Path = Field(DEFAULT_ARTIFACT_DIR, description="model artifact directory")
    metrics_port: int = Field(
        8000, ge=0, le=65535, description="port of /metrics, /healthz, /readyz (0: any free port)"
    )
    metrics_addr: str = Field(
        "0.0.0.0",  # noqa: S104 - containers need it; use 127.0.0.1 on a shared host
        description="address the HTTP server binds (use 127.0.0.1 outside containers)",
    )
    guarantee: Guarantee = Field(
        "exactly-once", description="exactly-once (transactions) or at-least-once"
    )
    batch_size: int = Field(1000, ge=1, le=100_000, description="max events per micro-batch")
    batch_timeout: float = Field(
        0.2, gt=0, le=30, description="max seconds to wait while filling a batch"
    )
    max_events: int | None = Field(
        None, ge=1, description="stop after N input events are consumed and committed"
    )
    scoring_threads: int = Field(
        1, ge=1, le=64, description="OpenMP/BLAS threads for predict (1 avoids oversubscription)"
    )
    lag_interval: float = Field(5.0, gt=0, le=3600, description="seconds between lag updates")
    transactional_id_prefix: str = Field(
        "diamond-scorer-tx", min_length=1, description="prefix of the transactional.id"
    )
    kafka_config: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="extra librdkafka properties for every client (security.protocol, sasl.*)",
    )
    create_topics: bool = Field(True, description="create missing output and DLQ topics")
    broker_timeout: float = Field(
        10.0, gt=0, le=300, description="seconds to wait for the broker at startup"
    )
    max_event_bytes: int = Field(
        MAX_EVENT_BYTES, ge=64, le=1_000_000, description="larger events are dead-lettered"
    )

    @field_validator("kafka_config")
    @classmethod
    def _no_reserved_keys(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        reserved = sorted(RESERVED_KAFKA_KEYS.intersection(value))
        if reserved:
            raise ValueError(
                f"kafka_config may not set {', '.join(reserved)}: the service owns these "
                "(use the dedicated settings, e.g. --bootstrap-servers, --group-id, --guarantee)"
            )
        return value

    @property
    def exactly_once(self) -> bool:
        return self.guarantee == "exactly-once"

    @property
    def liveness_timeout(self) -> float:
        """Seconds without a loop iteration after which /healthz fails."""
        return 30.0 + 10 * self.batch_timeout
