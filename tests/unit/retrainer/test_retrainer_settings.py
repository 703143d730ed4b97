"""RetrainerSettings: defaults, environment variables, bounds, the topics that must differ."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from common.contracts.models import MODELS_TOPIC
from common.contracts.topics import DRIFT_REPORTS_TOPIC, EVENTS_TOPIC, LABELS_TOPIC
from model.registry import DEFAULT_REGISTRY_DIR
from retrainer.settings import RetrainerSettings

# the names the Kubernetes manifests set
K8S_ENV = ("BOOTSTRAP_SERVERS", "GROUP_ID", "REGISTRY_DIR", "METRICS_PORT", "EVENTS_TOPIC",
           "LABELS_TOPIC", "DRIFT_REPORTS_TOPIC", "MODELS_TOPIC")


def test_defaults_name_the_project_topics_and_registry() -> None:
    settings = RetrainerSettings()
    assert (settings.events_topic, settings.labels_topic, settings.drift_reports_topic,
            settings.models_topic) == (EVENTS_TOPIC, LABELS_TOPIC, DRIFT_REPORTS_TOPIC,
                                       MODELS_TOPIC)
    assert settings.registry_dir == DEFAULT_REGISTRY_DIR
    assert settings.group_id == "diamond-retrainer"
    assert settings.retrain_interval_s == 0  # the schedule is off


def test_every_kubernetes_variable_is_read(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    values = {"BOOTSTRAP_SERVERS": "kafka:9092", "GROUP_ID": "g", "REGISTRY_DIR": str(tmp_path),
              "METRICS_PORT": "0", "EVENTS_TOPIC": "e", "LABELS_TOPIC": "l",
              "DRIFT_REPORTS_TOPIC": "d", "MODELS_TOPIC": "m"}
    assert set(values) == set(K8S_ENV)
    for name, value in values.items():
        monkeypatch.setenv(f"RETRAINER_{name}", value)
    settings = RetrainerSettings()
    assert settings.bootstrap_servers == "kafka:9092"
    assert settings.registry_dir == tmp_path
    assert settings.metrics_port == 0
    assert (settings.events_topic, settings.labels_topic, settings.drift_reports_topic,
            settings.models_topic) == ("e", "l", "d", "m")


@pytest.mark.parametrize("bad", [
    {"events_topic": LABELS_TOPIC}, {"models_topic": DRIFT_REPORTS_TOPIC},
    {"holdout_fraction": 1.0}, {"reference_fraction": 1.0}, {"margin": -0.1},
    {"min_labels": 600, "live_window": 500}, {"metrics_port": 70000}, {"min_rows": 5},
])
def test_bad_values_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RetrainerSettings(**bad)  # type: ignore[arg-type]


def test_settings_are_frozen() -> None:
    settings = RetrainerSettings()
    with pytest.raises(ValidationError):
        settings.min_rows = 10
