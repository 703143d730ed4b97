"""Hot swap on the real broker: two replicas follow the models topic; a new champion is swapped
in under load with nothing lost or scored twice (exactly-once), every prediction carries the
version that scored it, and a tampered version is refused by both while the champion serves."""

from __future__ import annotations

import shutil
import threading
import time
from collections import defaultdict
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

N_EVENTS = 12_000
PARTITIONS = 4


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


def produce_paced(produce: Callable[..., object], topic: str, keys: list[bytes],
                  values: list[bytes], chunks: int) -> threading.Thread:
    """Produce in `chunks` pieces, 0.2 s apart, in the background (load during the swap)."""

    def run() -> None:
        size = -(-len(values) // chunks)
        for start in range(0, len(values), size):
            produce(topic, values[start:start + size], keys[start:start + size])
            time.sleep(0.2)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_two_replicas_swap_under_load_without_loss_or_duplicates(
    bootstrap_servers, new_topic, make_events, produce_values, drain_topic, consumer_settings,
    running_service, model_dir, second_model, unique_group_id,
) -> None:
    events, output, dlq = new_topic(PARTITIONS), new_topic(PARTITIONS), new_topic(PARTITIONS)
    models = new_topic(1, config=MODELS_TOPIC_CONFIG)
    keys, values, _ = make_events(N_EVENTS)
    group = unique_group_id("swap")
    old = load_artifact(model_dir).version
    new = load_artifact(second_model).version
    assert old != new
    settings = [
        consumer_settings(input_topic=events, output_topic=output, dlq_topic=dlq, group_id=group,
                          models_topic=models, replica_id=f"swap-{i}", batch_size=200,
                          drift_enabled=False)
        for i in range(2)
    ]
    with ExitStack() as stack:
        services = [stack.enter_context(running_service(s)) for s in settings]
        producer = produce_paced(produce_values, events, keys, values, chunks=20)
        wait_for(lambda: sum(s.summary.consumed for s in services) >= N_EVENTS // 4, 60,
                 "a quarter of the events scored")
        announce(bootstrap_servers, models, second_model, "v0002")
        wait_for(lambda: all(metric(s, "diamond_model_swaps_total", alias="champion") == 1
                             for s in services), 30, "both replicas to swap")
        producer.join(60)
        wait_for(lambda: sum(s.summary.consumed for s in services) >= N_EVENTS, 90,
                 "every event scored")
        for service in services:
            assert metric(service, "diamond_model_info", version=new, type="hgb",
                          sha256=load_metadata(second_model)["sha256"]) == 1
    predictions = [orjson.loads(m.value()) for m in drain_topic(output)]
    ids = [p["event_id"] for p in predictions]
    assert len(ids) == N_EVENTS and len(set(ids)) == N_EVENTS  # 0 lost, 0 duplicated
    assert drain_topic(dlq) == []
    by_partition: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for p in predictions:
        by_partition[p["source_partition"]].append((p["source_offset"], p["model_version"]))
    swapped_partitions = 0
    for partition, scored in by_partition.items():
        versions = [v for _, v in sorted(scored)]
        assert set(versions) <= {old, new}
        # in offset order: the old model, then the new one, never back (one swap per replica)
        first_new = versions.index(new) if new in versions else len(versions)
        assert versions[first_new:] == [new] * (len(versions) - first_new), partition
        swapped_partitions += new in versions
    assert swapped_partitions == PARTITIONS  # the stream went on after the swap everywhere


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
