"""The whole loop on the real broker: a concept shift is flagged by the consumers, the retrainer
trains a challenger on the recent labelled events, the challenger wins on live labels and is
promoted, both consumer replicas swap it in under load; nothing is lost or scored twice
(exactly-once), every prediction carries the model of its batch, and on the shifted stream the
new model's realized MAE is back within 1.2x of its own held-out MAE."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import ExitStack

import numpy as np
import orjson
import pytest

from common.contracts.models import MODELS_TOPIC_CONFIG
from common.prometheus_text import fetch
from consumer import ScoringService
from model.registry import ModelRegistry, copy_of
from retrainer import RetrainerSettings

pytestmark = pytest.mark.integration

PARTITIONS = 2
CHUNK = 500  # events per chunk; their labels follow one chunk later
PAUSE = 0.25  # seconds between chunks: ~2,000 events/s
AFTER_SWAP = 8_000  # events sent after both replicas swapped


def metric(service: ScoringService, name: str, **labels: str) -> float | None:
    return fetch(f"http://127.0.0.1:{service.metrics_port}/metrics", timeout=5).value(
        name, **labels)


def test_a_concept_shift_is_retrained_promoted_and_swapped_on_two_replicas(
    bootstrap_servers, new_topic, unique_group_id, model_dir, produce_values,
    drain_topic, consumer_settings, running_service, running_retrainer, shifted_stream, tmp_path,
) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    first = registry.register(copy_of(model_dir), source="train", reason="the test's")
    registry.promote(first, "the test's champion")
    old = registry.show(first).metadata["model_version"]
    events, labels, output, dlq = (new_topic(PARTITIONS) for _ in range(4))
    reports, models = new_topic(1), new_topic(1, config=MODELS_TOPIC_CONFIG)
    group = unique_group_id("loop")
    settings = [
        consumer_settings(
            input_topic=events, labels_topic=labels, output_topic=output, dlq_topic=dlq,
            drift_reports_topic=reports, models_topic=models, group_id=group,
            model_path=registry.root, replica_id=f"loop-{i}", batch_size=300,
            drift_eval_interval=0.5, label_pending_wait=30,
        ) for i in range(2)
    ]
    retrain = RetrainerSettings(
        bootstrap_servers=bootstrap_servers, group_id=unique_group_id("retrainer"),
        registry_dir=registry.root, events_topic=events, labels_topic=labels,
        drift_reports_topic=reports, models_topic=models, metrics_port=0, poll_timeout=0.2,
        # 3,000 rows: 600 held out become the new model's drift references (thinner ones
        # can make its concept flag flap, see the README's demo section)
        min_rows=3000, min_gap_s=0, min_labels=400, live_window=2000, drift_window_size=200,
    )
    run = f"loop{time.time_ns()}"
    truth: dict[str, float] = {}
    sent = 0
    pending_labels: tuple[list[bytes], list[bytes]] = ([], [])

    def send_chunk() -> None:
        nonlocal sent, pending_labels
        keys, values, label_values, chunk_truth = shifted_stream(sent, CHUNK, run)
        produce_values(events, values, keys)
        if pending_labels[0]:
            produce_values(labels, pending_labels[1], pending_labels[0])
        pending_labels = (keys, label_values)
        truth.update(chunk_truth)
        sent += CHUNK

    with ExitStack() as stack:
        services = [stack.enter_context(running_service(s, timeout=60)) for s in settings]
        _, errors, _ = stack.enter_context(running_retrainer(retrain))
        deadline = time.monotonic() + 240
        swapped_at = None
        while True:
            assert not errors, errors
            assert time.monotonic() < deadline, (
                f"no swap on both replicas after {sent} events: challenger "
                f"{registry.alias('challenger')}, champion {registry.alias('champion')}")
            send_chunk()
            time.sleep(PAUSE)
            if swapped_at is None and all(
                    metric(s, "diamond_model_swaps_total", alias="champion") == 1
                    for s in services):
                swapped_at = sent
            if swapped_at is not None and sent >= swapped_at + AFTER_SWAP:
                break
        produce_values(labels, pending_labels[1], pending_labels[0])
        deadline = time.monotonic() + 60
        while sum(s.summary.consumed for s in services) < sent:
            assert time.monotonic() < deadline, "not every event was scored"
            time.sleep(0.2)
        new_version = registry.alias("champion")
        assert new_version is not None and new_version != first
        new = registry.show(new_version).metadata["model_version"]
        for service in services:
            assert metric(service, "diamond_model_info", version=new, type="hgb",
                          sha256=registry.show(new_version).sha256) == 1
            record = service.drift.last_record if service.drift is not None else None
            assert record is not None and record["model_version"] == new
            assert record["concept"]["flag"]["drift_detected"] is False  # cleared by the swap

    predictions = [orjson.loads(m.value()) for m in drain_topic(output)]
    ids = [p["event_id"] for p in predictions]
    assert len(ids) == sent and len(set(ids)) == sent  # 0 lost, 0 duplicated
    assert drain_topic(dlq) == []
    by_partition: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for p in predictions:
        by_partition[p["source_partition"]].append((p["source_offset"], p["model_version"]))
    for partition, scored in by_partition.items():
        versions = [v for _, v in sorted(scored)]
        assert set(versions) == {old, new}, partition
        switch = versions.index(new)  # one swap per replica: old, then new, never back
        assert versions[switch:] == [new] * (len(versions) - switch), partition
    # the shifted stream, scored by the new model: its realized MAE against its own held-out MAE
    errors_new = [abs(truth[p["event_id"]] - p["predicted_price"]) for p in predictions
                  if p["model_version"] == new]
    errors_old = [abs(truth[p["event_id"]] - p["predicted_price"]) for p in predictions
                  if p["model_version"] == old]
    held_out_new = registry.show(new_version).metadata["metrics"]["mae"]
    held_out_old = registry.show(first).metadata["metrics"]["mae"]
    ratio_old = float(np.mean(errors_old)) / held_out_old
    ratio_new = float(np.mean(errors_new)) / held_out_new
    print(f"loop: swapped after {swapped_at} of {sent} events; realized MAE / own held-out MAE:"
          f" old {ratio_old:.2f} ({len(errors_old)} events), new {ratio_new:.2f}"
          f" ({len(errors_new)} events)")
    assert ratio_old > 1.3  # the shift was real for the old model
    assert ratio_new < 1.2, (ratio_old, ratio_new, held_out_new)
