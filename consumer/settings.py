"""Consumer settings: the flags of `python -m consumer` and the CONSUMER_* environment variables.

One frozen object; a flag and its environment variable are the same setting
(`--batch-size 500` == `CONSUMER_BATCH_SIZE=500`). `kafka_config` passes librdkafka properties
(security.protocol, sasl.*, ssl.*) to every client; its values are secrets and never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, CliImplicitFlag

from common.contracts.events import (
    EVENT_TIME_TOLERANCE_S,
    MAX_EVENT_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_KEY_BYTES,
)
from common.contracts.models import MODELS_TOPIC
from common.contracts.topics import (
    DLQ_TOPIC,
    DRIFT_REPORTS_TOPIC,
    EVENTS_TOPIC,
    LABELS_TOPIC,
    PREDICTIONS_TOPIC,
)
from common.settings import cli_settings_config
from model.artifact import DEFAULT_ARTIFACT_DIR

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
        "group.instance.id",
        "enable.idempotence",
        "acks",
        "request.required.acks",
    }
)


# Topics that must all differ (the ones left empty excepted).
TOPIC_FIELDS = (
    "input_topic", "output_topic", "dlq_topic", "labels_topic", "drift_reports_topic",
    "models_topic", "shadow_topic",
)


class ConsumerSettings(BaseSettings):
    """Settings of the scoring service (frozen)."""

    model_config = cli_settings_config(env_prefix="CONSUMER_", prog_name="python -m consumer")

    bootstrap_servers: str = Field("127.0.0.1:9092", min_length=1, description="Kafka brokers")
    input_topic: str = Field(EVENTS_TOPIC, min_length=1, description="events to score")
    output_topic: str = Field(PREDICTIONS_TOPIC, min_length=1, description="predictions")
    dlq_topic: str = Field(DLQ_TOPIC, min_length=1, description="dead-letter topic")
    group_id: str = Field("diamond-scorer", min_length=1, description="consumer group")
    # -- replica identity (consumer.edge.clients): static membership, a stable transactional.id
    replica_id: str = Field(
        "", max_length=200, pattern=r"^[A-Za-z0-9._-]*$",
        description="stable identity of this replica (compose: the container's host name, "
        "Kubernetes: the pod name): a restart takes its partitions back and fences its "
        "predecessor at once; '' = a random identity per process",
    )
    model_path: Path = Field(
        DEFAULT_ARTIFACT_DIR,
        description="model artifact directory, or a model registry root (serves its champion)",
    )
    metrics_port: int = Field(
        8000, ge=0, le=65535, description="port of /metrics, /healthz, /readyz (0: any free port)"
    )
    # -- hardening (issue 12): the HTTP server, the model pin, the label bound ----------------
    metrics_addr: str = Field(
        "127.0.0.1",  # containers set 0.0.0.0 explicitly (docker-compose.yml, Dockerfile)
        description="address the HTTP server binds (0.0.0.0 in a container, to be scraped)",
    )
    metrics_max_connections: int = Field(
        16, ge=1, le=1024,
        description="open HTTP connections at most (one thread each); the oldest is dropped "
        "to make room for a new one",
    )
    metrics_request_timeout: float = Field(
        5.0, gt=0, le=300, description="seconds an HTTP socket may wait to read or write"
    )
    model_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$",
        description="expected sha256 of model.joblib, pinned from outside the artifact "
        "directory (checked as well as the metadata's)",
    )
    loss_model_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$",
        description="expected sha256 of loss_model.joblib, pinned like --model-sha256 (with "
        "the model pinned and this unset, performance estimation is off)",
    )
    label_price_factor: float = Field(
        100.0, gt=1, le=1e6,
        description="labels priced above this times the training data's largest price are "
        "invalid",
    )
    guarantee: Guarantee = Field(
        "exactly-once", description="exactly-once (transactions) or at-least-once"
    )
    batch_size: int = Field(1000, ge=1, le=100_000, description="max events per micro-batch")
    batch_timeout: float = Field(
        0.2, gt=0, le=30,
        description="max seconds one poll waits for the first event when none is queued (a "
        "batch never waits to fill)",
    )
    overlap: CliImplicitFlag[bool] = Field(
        True,
        description="when behind (a full batch), prepare (decode, validate, score) the next "
        "batch while the previous one's write and commit are in flight",
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
    # -- the record around the event (issue 12: no record can stop a partition) ---------------
    max_key_bytes: int = Field(
        MAX_KEY_BYTES, ge=1, le=100_000,
        description="larger or non-UTF-8 keys are dead-lettered (invalid_key), cut in the DLQ",
    )
    max_headers: int = Field(
        MAX_HEADERS, ge=0, le=10_000, description="events with more headers are dead-lettered"
    )
    max_header_bytes: int = Field(
        MAX_HEADER_BYTES, ge=0, le=1_000_000,
        description="events whose headers (names + values) exceed this are dead-lettered",
    )
    event_time_tolerance: float = Field(
        EVENT_TIME_TOLERANCE_S, ge=0, le=31_536_000,
        description="event times more than N seconds ahead of now are dead-lettered",
    )
    # -- drift monitoring and the late-label join (consumer.drift) ---------------------------
    drift_enabled: CliImplicitFlag[bool] = Field(
        True, description="drift monitoring and the label join; --drift / --no-drift for short"
    )
    drift_gamma: float = Field(
        3e9, gt=1, le=1e15,
        description="expected events between false drift flags on a quiet stream, per flag "
        "(3e9: < 1 per feature per week at 5,000 events/s)",
    )
    drift_clear_gamma: float = Field(
        1e6, gt=1, le=1e15,
        description="a drift that persists is falsely cleared at most once per N events",
    )
    drift_tolerance: float = Field(
        4.0, ge=0, le=100,
        description="standard errors of the reference's own sampling error every detector "
        "ignores (higher: fewer flags from a reference unlike the live population)",
    )
    drift_coalesce_events: int = Field(
        1, ge=1, le=100_000,
        description="the data drift detectors take this many events at once (per-call costs: "
        "less CPU at low rates, e.g. 1000); a flag change is then reported up to this many "
        "events later instead of at most one batch (1: every batch at once)",
    )
    drift_coalesce_seconds: float = Field(
        0.25, ge=0, le=60,
        description="... or what arrived within this many seconds, whichever comes first",
    )
    drift_eval_interval: float = Field(
        5.0, gt=0, le=3600,
        description="publish a drift report and refresh the gauges at least every N seconds "
        "(if new data); a flag raised or cleared is published at once",
    )
    drift_eval_every: int = Field(
        5000, ge=1, description="... or as soon as N events were scored since the last report"
    )
    drift_eval_max_share: float = Field(
        0.01, gt=0, le=1,
        description="a count-triggered evaluation waits until the last one took at most this "
        "share of the time since (bounds the cost at high rates; the interval is not limited)",
    )
    labels_topic: str = Field(
        LABELS_TOPIC, description="late ground-truth prices to join ('' disables the join)"
    )
    drift_reports_topic: str = Field(
        DRIFT_REPORTS_TOPIC, description="one JSON report per evaluation ('' disables)"
    )
    label_cache_size: int = Field(
        200_000, ge=1, le=10_000_000, description="predictions kept for the label join"
    )
    label_cache_ttl: float = Field(
        600.0, gt=0, le=86_400,
        description="seconds a prediction waits for its label; older labels count as late",
    )
    label_pending_size: int = Field(
        50_000, ge=1, le=10_000_000,
        description="labels held while their prediction is not scored yet (consumer behind)",
    )
    label_pending_wait: float = Field(
        60.0, gt=0, le=86_400, description="seconds such a label waits before counting unmatched"
    )
    # -- model changes while serving (consumer.models, issue 15) --------------------------------
    models_topic: str = Field(
        MODELS_TOPIC,
        description="compacted topic of model announcements to follow: a new champion is "
        "loaded, verified and swapped in between two batches, a challenger shadow-scored ('' "
        "or a pinned --model-sha256: serve the startup model only)",
    )
    shadow_topic: str = Field(
        "", description="the challenger's shadow predictions also go here ('' : metrics only)"
    )
    model_window: int = Field(
        2000, ge=10, le=1_000_000,
        description="joined labels in each model's window MAE (diamond_concept_window_mae)",
    )
    # -- fault injection (consumer.testing.faults): for fault-injection tests only -------------
    fault: str = Field(
        "", description="fault-injection tests only: '<point>:<action>[=S][@n]' (empty: off)"
    )

    @field_validator("fault")
    @classmethod
    def _valid_fault(cls, value: str) -> str:
        from consumer.testing.faults import FaultInjector  # test-only code, loaded when checked

        FaultInjector.parse(value)  # ValueError names the format
        return value

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

    @model_validator(mode="after")
    def _distinct_topics(self) -> ConsumerSettings:
        # any two equal would loop records (a DLQ equal to the input re-reads every bad event
        # forever) or mix streams; '' (labels, reports off) is not a topic
        named = [(name, getattr(self, name)) for name in TOPIC_FIELDS]
        seen: dict[str, str] = {}
        for name, topic in named:
            if topic and topic in seen:
                raise ValueError(
                    f"{name} {topic!r} must differ from {seen[topic]} (both {topic!r})"
                )
            seen.setdefault(topic, name)
        if self.label_join and self.label_pending_size <= 2 * self.batch_size:
            raise ValueError(
                f"label_pending_size {self.label_pending_size} must be more than twice "
                f"batch_size {self.batch_size}: a batch of labels must fit while it fills"
            )
        return self

    @property
    def label_join(self) -> bool:
        """The labels topic is subscribed and joined (drift on and a labels topic named)."""
        return self.drift_enabled and bool(self.labels_topic)

    @property
    def topics_to_create(self) -> tuple[str, ...]:
        """Topics created at start when missing (with --create-topics)."""
        topics = [self.output_topic, self.dlq_topic]
        if self.label_join:
            topics.append(self.labels_topic)
        if self.drift_enabled and self.drift_reports_topic:
            topics.append(self.drift_reports_topic)
        if self.shadow_topic:
            topics.append(self.shadow_topic)
        return tuple(topics)

    @property
    def follows_models(self) -> bool:
        """Announced models are followed: a models topic and no pinned model (a pin names the
        one model this service may run)."""
        return bool(self.models_topic) and self.model_sha256 is None

    @property
    def exactly_once(self) -> bool:
        return self.guarantee == "exactly-once"

    @property
    def liveness_timeout(self) -> float:
        """Seconds without a loop iteration after which /healthz fails."""
        return 30.0 + 10 * self.batch_timeout
