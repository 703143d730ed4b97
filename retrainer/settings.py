"""Retrainer settings: the flags of `python -m retrainer` and the RETRAINER_* environment variables.

One frozen object; a flag and its environment variable are the same setting
(`--min-rows 5000` == `RETRAINER_MIN_ROWS=5000`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from common.contracts.models import MODELS_TOPIC
from common.contracts.topics import DRIFT_REPORTS_TOPIC, EVENTS_TOPIC, LABELS_TOPIC
from common.settings import cli_settings_config
from model.registry import DEFAULT_REGISTRY_DIR
from model.training import ModelType


class RetrainerSettings(BaseSettings):
    """Settings of the retraining service (frozen)."""

    model_config = cli_settings_config(env_prefix="RETRAINER_", prog_name="python -m retrainer")

    bootstrap_servers: str = Field("127.0.0.1:9092", min_length=1, description="Kafka brokers")
    group_id: str = Field("diamond-retrainer", min_length=1, description="consumer group")
    registry_dir: Path = Field(DEFAULT_REGISTRY_DIR, description="model registry root")
    events_topic: str = Field(EVENTS_TOPIC, min_length=1, description="events to join")
    labels_topic: str = Field(LABELS_TOPIC, min_length=1, description="their labels")
    drift_reports_topic: str = Field(
        DRIFT_REPORTS_TOPIC, min_length=1, description="drift reports (the triggers)"
    )
    models_topic: str = Field(MODELS_TOPIC, min_length=1, description="model announcements")
    metrics_addr: str = Field("127.0.0.1", description="address of /metrics, /healthz, /readyz")
    metrics_port: int = Field(
        9100, ge=0, le=65535, description="port of /metrics, /healthz, /readyz (0: any free)"
    )
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        "earliest", description="where a new group starts (the age bounds drop old rows)"
    )
    # -- the window ---------------------------------------------------------------------------
    max_pending_events: int = Field(
        50_000, ge=1, le=10_000_000,
        description="events awaiting their label, at most (and as many labels awaiting "
        "their event)",
    )
    max_pending_age_s: float = Field(
        600.0, gt=0,
        description="events (labels) awaiting their label (event) older than this (event "
        "time) go",
    )
    max_rows: int = Field(50_000, ge=1, le=10_000_000, description="labelled rows, at most")
    max_row_age_s: float = Field(
        3600.0, gt=0, description="labelled rows older than this (event time) go"
    )
    # -- triggers and the gate ----------------------------------------------------------------
    # 5,000: the newest 20 % (1,000 rows) become the candidate's drift references; with 300
    # (1,500 rows) its concept flag flapped on live errors 10 % above a held-out MAE measured
    # low by chance (the demo, 2026-11-30)
    min_rows: int = Field(5000, ge=10, description="labelled rows needed to train")
    min_gap_s: float = Field(300.0, ge=0, description="seconds between two training starts")
    retrain_interval_s: float = Field(
        0.0, ge=0, description="train on a schedule every N seconds (0: off)"
    )
    trigger_max_age_s: float = Field(
        600.0, gt=0, description="drift transitions older than this are not triggers"
    )
    # -- the training policy ------------------------------------------------------------------
    holdout_fraction: float = Field(
        0.2, gt=0, lt=1, description="newest share of the rows held out for evaluation"
    )
    reference_fraction: float = Field(
        0.1, ge=0, lt=1,
        description="share of the training set sampled from the original training split",
    )
    model: ModelType = Field("hgb", description="regressor of the candidates")
    drift_window_size: int = Field(
        2000, gt=0, description="window size the candidate's drift thresholds are calibrated for"
    )
    seed: int = Field(42, description="seed of the reference sample")
    training_threads: int = Field(
        1, ge=1, le=64, description="OpenMP/BLAS threads while training and scoring"
    )
    # -- promotion ----------------------------------------------------------------------------
    min_labels: int = Field(500, ge=2, description="live labels before a decision")
    margin: float = Field(
        0.05, ge=0, lt=1, description="the challenger's MAE must be this much lower to win"
    )
    alpha: float = Field(
        0.05, gt=0, lt=1, description="significance of the one-sided paired t-test"
    )
    live_window: int = Field(
        5000, ge=2, description="live label pairs kept for the comparison (the newest)"
    )
    challenger_timeout_s: float = Field(
        1800.0, gt=0, description="a challenger undecided after this is withdrawn"
    )
    # -- plumbing -----------------------------------------------------------------------------
    kafka_config: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="extra librdkafka properties for every client (security.protocol, sasl.*)",
    )
    create_topics: bool = Field(True, description="create the models topic when missing")
    broker_timeout: float = Field(
        10.0, gt=0, le=300, description="seconds to wait for the broker at startup"
    )
    poll_timeout: float = Field(0.5, gt=0, le=10, description="seconds one poll may wait")

    @model_validator(mode="after")
    def _distinct_topics(self) -> RetrainerSettings:
        topics = (self.events_topic, self.labels_topic, self.drift_reports_topic,
                  self.models_topic)
        if len(set(topics)) != len(topics):
            raise ValueError(f"the four topics must differ, got {', '.join(topics)}")
        if self.min_labels > self.live_window:
            raise ValueError(
                f"min_labels ({self.min_labels}) must be <= live_window ({self.live_window})"
            )
        return self

    @property
    def liveness_timeout(self) -> float:
        """A loop iteration older than this is a stall (a training runs in its own thread)."""
        return max(30.0, 10 * self.poll_timeout)
