"""The scoring service on the real broker, in-process: exactly-once, at-least-once, poison
events, metrics over HTTP."""

from __future__ import annotations

import time
import urllib.request
from collections import Counter

import numpy as np
import orjson
import pytest
from prometheus_client import CollectorRegistry

from common.kafka import GroupOffsets
from common.prometheus_text import parse
from consumer import run_consumer
from model.artifact import load_artifact
from model.schema import REASONS

pytestmark = pytest.mark.integration

N_EVENTS = 10_000


def predictions_by_id(messages) -> dict[str, list[dict]]:
    by_id: dict[str, list[dict]] = {}
    for msg in messages:
        body = orjson.loads(msg.value())
        by_id.setdefault(body["event_id"], []).append(body)
    return by_id


def assert_scored_like_offline(by_id, rows, model_dir) -> None:
    artifact = load_artifact(model_dir)
    expected = artifact.pipeline.predict(rows)
    got = np.array([by_id[event_id][0]["predicted_price"] for event_id in rows.index])
    assert np.allclose(got, expected)
    assert {b[0]["model_version"] for b in by_id.values()} == {artifact.version}


@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_every_event_is_scored(
    guarantee, new_topic, make_events, produce_values, drain_topic, consumer_settings, model_dir,
    bootstrap_servers,
) -> None:
    topic_in, topic_out, topic_dlq = new_topic(3), new_topic(3), new_topic(3)
    keys, values, rows = make_events(N_EVENTS)
    coords = produce_values(topic_in, values, keys)
    settings = consumer_settings(
        input_topic=topic_in, output_topic=topic_out, dlq_topic=topic_dlq,
        guarantee=guarantee, max_events=N_EVENTS,
    )
    registry = CollectorRegistry()
    summary = run_consumer(settings, registry=registry)

    assert summary.consumed == N_EVENTS and summary.dead_lettered == 0
    outputs = drain_topic(topic_out)
    by_id = predictions_by_id(outputs)
    assert set(by_id) == set(rows.index)  # no loss
    if guarantee == "exactly-once":
        assert len(outputs) == N_EVENTS  # and no duplicate
    assert_scored_like_offline(by_id, rows, model_dir)
    # the output keeps the input key and points back at the source record
    source = dict(zip((k.decode() for k in keys), coords, strict=True))
    for msg in outputs[:200]:
        body = orjson.loads(msg.value())
        assert msg.key() == body["event_id"].encode()
        assert (body["source_partition"], body["source_offset"]) == source[body["event_id"]]
    assert drain_topic(topic_dlq) == []
    value = registry.get_sample_value
    assert value("diamond_events_consumed_total") == N_EVENTS
    assert value("diamond_predictions_published_total") == N_EVENTS
    assert value("diamond_end_to_end_latency_seconds_count") == N_EVENTS
    assert committed_total(bootstrap_servers, settings.group_id, topic_in) == N_EVENTS


def committed_total(bootstrap_servers: str, group_id: str, topic: str) -> int:
    with GroupOffsets(bootstrap_servers, group_id) as offsets:
        return offsets.total(topic, 3, timeout=10)


def poison_values() -> list[tuple[str, bytes | None]]:
    good = {
        "event_id": "x", "carat": 0.5, "cut": "Ideal", "color": "E", "clarity": "SI1",
        "depth": 61.0, "table": 56.0, "event_time": int(time.time() * 1000),
    }

    def bad(**changes) -> bytes:
        return orjson.dumps({**good, **changes})

    return [
        ("oversize", b'{"pad": "' + b"x" * 5000 + b'"}'),
        ("not_utf8", b"\xff\xfe\xfd"),
        ("not_json", b"{not json"),
        ("not_json", None),
        ("not_object", b"[1, 2, 3]"),
        ("not_object", b"null"),
        ("missing_field", orjson.dumps({k: v for k, v in good.items() if k != "carat"})),
        ("extra_field", bad(price=500)),
        ("wrong_type", bad(carat="0.5")),
        ("non_finite", bad().replace(b'"carat":0.5', b'"carat":NaN')),
        ("out_of_range", bad(carat=-1.0)),
        ("out_of_range", bad(carat=1e308)),
        ("unknown_category", bad(cut="ideal")),
        ("invalid_event_time", bad(event_time="tomorrow")),
    ]


def test_poison_events_go_to_the_dlq_and_good_ones_are_scored(
    new_topic, make_events, produce_values, drain_topic, consumer_settings
) -> None:
    topic_in, topic_out, topic_dlq = new_topic(3), new_topic(3), new_topic(3)
    keys, values, rows = make_events(600)
    poison = poison_values()
    # the record-level reasons (key, headers) and the ones no value causes (a failing model, a
    # refused output) are covered by test_poison_records.py
    not_by_value = {"invalid_key", "invalid_headers", "scoring_failed", "output_rejected"}
    assert {reason for reason, _ in poison} == set(REASONS) - not_by_value
    mixed_keys: list[bytes | None] = []
    mixed_values: list[bytes | None] = []
    expected_reason: dict[bytes, str] = {}
    for i, (key, value) in enumerate(zip(keys, values, strict=True)):
        mixed_keys.append(key)
        mixed_values.append(value)
        if i % 40 == 0 and i // 40 < len(poison):
            reason, bad = poison[i // 40]
            bad_key = f"bad-{i}".encode()
            mixed_keys.append(bad_key)
            mixed_values.append(bad)
            expected_reason[bad_key] = reason
    coords = dict(zip(mixed_keys, produce_values(topic_in, mixed_values, mixed_keys), strict=True))
    settings = consumer_settings(
        input_topic=topic_in, output_topic=topic_out, dlq_topic=topic_dlq,
        max_events=len(mixed_values), batch_size=50,
    )
    registry = CollectorRegistry()
    run_consumer(settings, registry=registry)

    assert set(predictions_by_id(drain_topic(topic_out))) == set(rows.index)
    dead = drain_topic(topic_dlq)
    assert len(dead) == len(poison)
    for msg in dead:
        headers = {k: v.decode() for k, v in msg.headers()}
        key = msg.key()
        assert headers["dlq.reason"] == expected_reason[key], headers
        assert (int(headers["dlq.source.partition"]), int(headers["dlq.source.offset"])) == (
            coords[key]
        )
        assert headers["dlq.source.topic"] == topic_in
        assert headers["dlq.consumer.group"] == settings.group_id
        assert headers["dlq.error"] and int(headers["dlq.failed_at"]) > 0
        assert msg.value() == mixed_values[mixed_keys.index(key)]  # original bytes
    counts = Counter(reason for reason, _ in poison)
    for reason in REASONS:
        got = registry.get_sample_value("diamond_invalid_events_total", {"reason": reason})
        assert got == counts[reason], reason


def scrape(port: int, path: str = "/metrics") -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_metrics_endpoint_counts_the_input(
    new_topic, make_events, produce_values, consumer_settings, running_service
) -> None:
    topic_in, topic_out, topic_dlq = new_topic(3), new_topic(3), new_topic(3)
    keys, values, _ = make_events(3000)
    produce_values(topic_in, values, keys)
    settings = consumer_settings(input_topic=topic_in, output_topic=topic_out,
                                 dlq_topic=topic_dlq)
    with running_service(settings) as service:
        port = service.metrics_port
        deadline = time.monotonic() + 30
        consumed = lag = None
        while time.monotonic() < deadline:
            body = scrape(port)[1]
            samples = parse(body)
            consumed = samples.value("diamond_events_consumed_total")
            lag = samples.value("diamond_consumer_lag_total")
            if consumed == 3000 and lag == 0:
                break
            time.sleep(0.2)
        assert consumed == 3000 and lag == 0
        assert scrape(port, "/readyz")[0] == 200
        assert scrape(port, "/healthz")[0] == 200
        assert 'diamond_model_info{sha256="' in body and "diamond_consumer_up 1.0" in body
    assert service.summary.consumed == 3000
