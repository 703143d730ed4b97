"""Hot swap on the real broker: a tampered version (bytes changed after it was announced) is
refused by both replicas while the champion serves. (The swap itself, on two replicas under load
with nothing lost or duplicated, is tests/integration/test_retraining_loop.py.)"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer
from sklearn.base import clone

from common.contracts.models import MODELS_TOPIC_CONFIG, Announcement, encode_announcement
from common.prometheus_text import fetch
from consumer import ScoringService
from model.artifact import PIPELINE_FILE, load_artifact, load_metadata, save_artifact
from model.data import load_diamonds, split
from model.features import FEATURES, TARGET

pytestmark = pytest.mark.integration



@pytest.fixture(scope="module")
def second_model(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another verified artifact: the same pipeline refitted on other rows (other bytes)."""
    first = load_artifact(model_dir)
    train, _ = split(load_diamonds())
    rows = train.sample(n=3000, random_state=11)
    pipeline = clone(first.pipeline).fit(rows[list(FEATURES)], rows[TARGET])
    directory = tmp_path_factory.mktemp("v0002")
    metadata = {k: v for k, v in first.metadata.items()
                if k not in ("sha256", "model_version", "loss_model_sha256")}
    save_artifact(directory, pipeline, metadata, first.profile,
                  estimation=first.estimation)
    return directory


def announce(bootstrap: str, topic: str, directory: Path, version: str, sha: str | None = None
             ) -> None:
    metadata = load_metadata(directory)
    key, value = encode_announcement(Announcement(
        "champion", version, sha or metadata["sha256"], str(directory), "test promotion",
        int(time.time() * 1000), metadata.get("loss_model_sha256"),
    ))
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, key=key, value=value)
    assert producer.flush(10) == 0


def metric(service: ScoringService, name: str, **labels: str) -> float | None:
    return fetch(f"http://127.0.0.1:{service.metrics_port}/metrics", timeout=5).value(
        name, **labels)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_tampered_version_is_refused_by_every_replica(
    bootstrap_servers, new_topic, make_events, produce_values, drain_topic, consumer_settings,
    running_service, model_dir, second_model, unique_group_id, tmp_path,
) -> None:
    events, output, dlq = new_topic(2), new_topic(2), new_topic(2)
    models = new_topic(1, config=MODELS_TOPIC_CONFIG)
    tampered = tmp_path / "v0003"
    shutil.copytree(second_model, tampered)
    sha = load_metadata(tampered)["sha256"]  # what was announced at registration
    with (tampered / PIPELINE_FILE).open("ab") as handle:
        handle.write(b"\0")  # bytes changed after registration
    group = unique_group_id("tamper")
    settings = [
        consumer_settings(input_topic=events, output_topic=output, dlq_topic=dlq, group_id=group,
                          models_topic=models, replica_id=f"tamper-{i}", drift_enabled=False)
        for i in range(2)
    ]
    old = load_artifact(model_dir).version
    keys, values, _ = make_events(400)
    with ExitStack() as stack:
        services = [stack.enter_context(running_service(s)) for s in settings]
        announce(bootstrap_servers, models, tampered, "v0003", sha=sha)
        wait_for(lambda: all(metric(s, "diamond_model_refused_total", reason="verification")
                             == 1 for s in services), 30, "both replicas to refuse it")
        produce_values(events, values, keys)
        wait_for(lambda: sum(s.summary.consumed for s in services) >= 400, 60, "scored")
        for service in services:
            assert metric(service, "diamond_model_swaps_total", alias="champion") == 0
    versions = {orjson.loads(m.value())["model_version"] for m in drain_topic(output)}
    assert versions == {old}  # the champion kept serving
