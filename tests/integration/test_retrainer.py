"""The retraining loop on the real broker: a concept shift -> a challenger -> promoted.

Events and their labels (prices x1.60 from the first event: the producer's `concept-drift`
scenario) fill the retrainer's window; a drift report with a `concept` drift_started
transition triggers a training; the candidate must beat the champion on the held-out slice,
become the challenger, beat it again on labels that arrive later, and be promoted, with the
models topic carrying the champion announcement and its sha256.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from common.contracts.drift_reports import DATA_FIELDS, drift_report_record, encode_drift_report
from common.contracts.models import (
    MODELS_TOPIC_CONFIG,
    Announcement,
    Withdrawal,
    decode_announcement,
)
from common.kafka import read_to_end
from model.artifact import file_sha256
from model.registry import ModelRegistry, copy_of
from model.registry_cli import main as registry_main
from retrainer import RetrainerSettings

pytestmark = pytest.mark.integration

TIMEOUT = 60.0


def wait_for(what: str, check: Callable[[], Any], service_errors: list[BaseException]) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert not service_errors, service_errors
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {TIMEOUT:g} s")


def concept_report(model_version: str) -> bytes:
    now = time.time_ns() // 1_000_000
    return encode_drift_report(drift_report_record(
        evaluated_at_ms=now, model_version=model_version, group_id="diamond-scorer",
        instance="scorer-1", n_seen=3000, data=dict.fromkeys(DATA_FIELDS), concept=None,
        transitions=[{"flag": "concept", "kind": "drift_started", "statistic": 12.5,
                      "detector": "page_hinkley", "event": 900, "time": now}],
        labels={},
    ))


def test_a_concept_shift_is_retrained_and_promoted_on_live_labels(
    bootstrap_servers: str, new_topic: Callable[..., str],
    unique_group_id: Callable[..., str], model_dir: Path,
    produce_values: Callable[..., Any], tmp_path: Path, running_retrainer: Callable[..., Any],
    shifted_stream: Callable[..., Any],
) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    champion = registry.register(copy_of(model_dir), source="train", reason="the test's")
    registry.promote(champion, "the test's champion")
    events, labels, reports = new_topic(3), new_topic(3), new_topic(3)
    models = new_topic(1, config=MODELS_TOPIC_CONFIG)
    settings = RetrainerSettings(
        bootstrap_servers=bootstrap_servers, group_id=unique_group_id("retrainer"),
        registry_dir=registry.root, events_topic=events, labels_topic=labels,
        drift_reports_topic=reports, models_topic=models, metrics_port=0, poll_timeout=0.2,
        min_rows=1500, min_gap_s=0, min_labels=400, live_window=2000, drift_window_size=200,
    )
    run = f"r{time.time_ns()}"
    with running_retrainer(settings) as (service, errors, metrics):
        # the window: 2,000 shifted events, then their labels, and two records that are not
        keys, values, prices, _ = shifted_stream(0, 2000, run)
        produce_values(events, [*values, b"not json"], [*keys, b"bad"])
        produce_values(labels, [*prices, b'{"event_id": 7}'], [*keys, b"bad"])

        def sample(name: str, **labels: str) -> float:
            return metrics.get_sample_value(name, labels or None) or 0.0

        wait_for("2,000 joined rows",
                 lambda: sample("diamond_retrainer_window_rows") >= 2000, errors)
        assert sample("diamond_retrainer_invalid_records_total", kind="event") == 1
        assert sample("diamond_retrainer_invalid_records_total", kind="label") == 1
        assert registry.alias("challenger") is None  # no trigger yet

        produce_values(reports, [concept_report(registry.show(champion).metadata[
            "model_version"])], [b"scorer-1"])
        challenger = wait_for("a challenger", lambda: registry.alias("challenger"), errors)
        scores = registry.show(challenger).registration["scores"]
        assert scores["holdout_mae_candidate"] < 0.8 * scores["holdout_mae_champion"]
        assert scores["n_holdout"] == 400  # the newest 20 % of 2,000 rows
        assert registry.show(challenger).registration["parent"] == champion
        assert registry.verify(challenger) == []

        # live labels, never trained on (and read before their events: they wait for them):
        # the challenger wins and is promoted
        keys, values, prices, _ = shifted_stream(2000, 800, run)
        produce_values(labels, prices, keys)
        wait_for("800 labels waiting for their events",
                 lambda: sample("diamond_retrainer_waiting_labels") >= 800, errors)
        produce_values(events, values, keys)
        wait_for("the promotion", lambda: registry.alias("champion") == challenger, errors)
        assert registry.alias("challenger") is None
        assert sample("diamond_retrainer_promotions_total") == 1
        assert sample("diamond_retrainer_decisions_total", decision="promoted") == 1
        live_champion = sample("diamond_retrainer_live_mae", model="champion")
        live_challenger = sample("diamond_retrainer_live_mae", model="challenger")
        assert live_challenger <= 0.95 * live_champion

    latest = announcements(bootstrap_servers, models)
    announced = latest["champion"]
    assert isinstance(announced, Announcement)
    directory = registry.path_of(challenger)
    assert announced.version == challenger
    assert announced.sha256 == file_sha256(directory / "model.joblib")
    assert announced.loss_model_sha256 == file_sha256(directory / "loss_model.joblib")
    assert Path(announced.location) == directory.resolve()
    assert announced.reason.startswith(f"promoted {challenger}")
    assert latest["challenger"] == Withdrawal("challenger")

    # by command: roll back to the old champion and announce it
    assert registry_main(["rollback", "--registry-dir", str(registry.root), "--announce",
                          "--bootstrap-servers", bootstrap_servers, "--models-topic",
                          models]) == 0
    rolled_back = announcements(bootstrap_servers, models)["champion"]
    assert isinstance(rolled_back, Announcement)
    assert (rolled_back.version, rolled_back.sha256) == (champion,
                                                          registry.show(champion).sha256)


def announcements(bootstrap_servers: str, topic: str) -> dict[str, Announcement | Withdrawal]:
    """The latest announcement per alias on the models topic."""
    latest: dict[str, Announcement | Withdrawal] = {}
    for msg in read_to_end(bootstrap_servers, topic, timeout=30):
        decoded = decode_announcement(msg.key(), msg.value())
        assert isinstance(decoded, Announcement | Withdrawal), decoded
        latest[decoded.alias] = decoded
    return latest
