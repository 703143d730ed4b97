"""Demo settings: the flags of `python -m demo` and the DEMO_* environment variables.

One frozen object; a flag and its environment variable are the same setting
(`--seconds 60` == `DEMO_SECONDS=60`; flags win). Booleans have a negation
(`--prometheus` / `--no-prometheus`).

The story runs its four phases (baseline, data drift, concept drift, then the closing act,
"retrained": the shifted prices go on while the retrainer's model takes over; or, with
``--no-retrain``, back to baseline) for ``seconds / 4`` each, at ``rate`` events per second
(``--phase-lengths 12,12,25,25`` sets each phase's seconds instead: a shorter run that keeps
the closing act's time); each phase also waits a few seconds for its producer process to start.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

# The demo runs on the default topics; re-exported for the demo's modules.
from common.contracts.models import MODELS_TOPIC as MODELS_TOPIC
from common.contracts.models import MODELS_TOPIC_CONFIG as MODELS_TOPIC_CONFIG
from common.contracts.topics import DLQ_TOPIC as DLQ_TOPIC
from common.contracts.topics import DRIFT_REPORTS_TOPIC as DRIFT_REPORTS_TOPIC
from common.contracts.topics import EVENTS_TOPIC as EVENTS_TOPIC
from common.contracts.topics import LABELS_TOPIC as LABELS_TOPIC
from common.contracts.topics import PREDICTIONS_TOPIC as PREDICTIONS_TOPIC
from common.contracts.topics import TOPICS as TOPICS
from common.settings import cli_settings_config
from model.artifact import DEFAULT_ARTIFACT_DIR

REPO_ROOT = Path(__file__).resolve().parents[1]
PHASE_COUNT = 4  # demo.story.PHASES


class DemoSettings(BaseSettings):
    """Run the scripted demo: broker, consumer, Prometheus, producer story, live view, report.

    Every flag is also an environment variable: --seconds 60 == DEMO_SECONDS=60.
    """

    model_config = cli_settings_config(
        env_prefix="DEMO_", prog_name="python -m demo", implicit_flags=True
    )

    seconds: float = Field(120.0, ge=15, le=86_400,
                           description="length of the story; split evenly over the 4 phases")
    phase_lengths: list[float] | None = Field(
        None, description="seconds of each of the 4 phases, comma-separated (default: "
        "seconds / 4 each)")
    rate: float = Field(1000.0, gt=0, le=50_000, description="events per second")
    label_delay: float = Field(2.0, ge=0, le=60,
                               description="seconds between an event and its label")
    drift_eval_interval: float = Field(2.0, gt=0, le=60,
                                       description="seconds between drift reports")
    seed: int = Field(42, ge=0, description="seed of the event stream")
    partitions: int = Field(3, ge=1, le=64, description="partitions of every demo topic")
    output_dir: Path = Field(REPO_ROOT / "demo-output",
                             description="summary.json, drift_report.png/.html and logs")
    model_path: Path = Field(DEFAULT_ARTIFACT_DIR,
                             description="model artifact (trained first when missing)")
    retrain: bool = Field(
        True, description="the closing act: a retrainer answers the concept alarm, its model "
        "wins in shadow and is swapped in (off: the story ends back at baseline)",
    )
    prometheus: bool = Field(True, description="run a local Prometheus when installed")
    scrape_interval: float = Field(2.0, gt=0, le=60,
                                   description="Prometheus scrape/evaluation interval")
    refresh: float = Field(1.0, gt=0, le=60, description="seconds between live view updates")
    status_interval: float = Field(10.0, gt=0,
                                   description="seconds between status lines when not a TTY")
    drain_timeout: float = Field(60.0, gt=0,
                                 description="seconds to wait for the consumer to catch up")
    stop_timeout: float = Field(20.0, gt=0,
                                description="seconds between SIGTERM and SIGKILL at shutdown")
    startup_timeout: float = Field(90.0, gt=0,
                                   description="seconds for the broker and consumer to be ready")

    @field_validator("phase_lengths", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [v for v in value.split(",") if v.strip()]
        if isinstance(value, list):
            return [v for item in value for v in str(item).split(",") if v.strip()]
        return value

    @field_validator("phase_lengths")
    @classmethod
    def _four_phases(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (len(value) != PHASE_COUNT or min(value) < 3):
            raise ValueError(f"phase_lengths must be {PHASE_COUNT} lengths of at least 3 s "
                             f"each, got {value}")
        return value

    @property
    def phase_seconds(self) -> float:
        """The length of each phase when `phase_lengths` is not set."""
        return self.seconds / PHASE_COUNT

    def phase_length(self, index: int) -> float:
        """Seconds of phase `index` (0-based)."""
        return self.phase_lengths[index] if self.phase_lengths else self.phase_seconds

    @property
    def logs_dir(self) -> Path:
        return self.output_dir / "logs"
