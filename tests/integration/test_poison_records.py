"""Issue 12 on the real broker: no record can stop a partition.

One poison record among 100 good ones, all in one partition, in both guarantee modes: a
999,780-byte key (the input fits the broker's 1 MB limit, its prediction would not), a key that
is not UTF-8, 1,000 headers. Each time: 100 predictions, one dead letter with its reason, the
offsets committed past all 101, and the service still running (it then scores more events).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import orjson
import pytest
from confluent_kafka import Producer
from prometheus_client import CollectorRegistry

from common.kafka import DeliveryReports, GroupOffsets, Record, produce_all
from consumer import ScoringService, run_consumer

pytestmark = pytest.mark.integration

GOOD = 100
BIG_KEY = b"K" * 999_780


def produce(bootstrap_servers: str, topic: str, records: list[Record]) -> None:
    """In order, into partition 0 (the topic has one), with room for a 1 MB record."""
    producer = Producer({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                         "message.max.bytes": 2_000_000, "linger.ms": 5})
    reports = DeliveryReports()
    produce_all(producer, records, timeout=30, on_delivery=reports)
    reports.check(undelivered=producer.flush(30))


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


POISON = {
    "big-key": ("invalid_key", BIG_KEY, None),
    "not-utf8-key": ("invalid_key", b"bad-\xff\xfe-key", None),
    "1000-headers": ("invalid_headers", b"headers", [(f"h{i}", b"v") for i in range(1000)]),
}


@pytest.mark.parametrize("case", sorted(POISON))
@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_one_poison_record_among_100_good_ones(
    guarantee, case, bootstrap_servers, new_topic, make_events, drain_topic, consumer_settings,
) -> None:
    reason, bad_key, headers = POISON[case]
    topic_in, topic_out, topic_dlq = new_topic(1), new_topic(1), new_topic(1)
    keys, values, _ = make_events(GOOD + 20)
    bad_value = orjson.dumps({**orjson.loads(values[0]), "event_id": "poison"})
    records = [Record(topic_in, k, v) for k, v in zip(keys[:GOOD], values[:GOOD], strict=True)]
    records.insert(GOOD // 2, Record(topic_in, bad_key, bad_value, headers))
    produce(bootstrap_servers, topic_in, records)

    settings = consumer_settings(input_topic=topic_in, output_topic=topic_out,
                                 dlq_topic=topic_dlq, guarantee=guarantee, batch_size=30)
    registry = CollectorRegistry()
    stop = threading.Event()
    service = ScoringService(settings, registry=registry, stop_event=stop)
    thread = threading.Thread(target=service.run, name="service-under-test")
    thread.start()
    value = registry.get_sample_value
    try:
        wait_for(lambda: value("diamond_events_consumed_total") == GOOD + 1 or
                 not thread.is_alive(), 60, "101 events")
        assert thread.is_alive(), "the service stopped on the poison record"
        assert value("diamond_predictions_published_total") == GOOD
        assert value("diamond_invalid_events_total", {"reason": reason}) == 1
        # still running: later events are scored too
        produce(bootstrap_servers, topic_in, [Record(topic_in, k, v) for k, v in
                                              zip(keys[GOOD:], values[GOOD:], strict=True)])
        wait_for(lambda: value("diamond_predictions_published_total") == GOOD + 20 or
                 not thread.is_alive(), 60, "20 more predictions")
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()

    outputs = drain_topic(topic_out)
    assert sorted(orjson.loads(m.value())["event_id"] for m in outputs) == sorted(
        k.decode() for k in keys)  # each good event once (no duplicate even at-least-once here)
    (dead,) = drain_topic(topic_dlq)
    dlq = {k: v for k, v in dead.headers()}
    assert dlq["dlq.reason"] == reason.encode()
    assert (dlq["dlq.source.partition"], dlq["dlq.source.offset"]) == (b"0", b"50")
    assert dead.value() == bad_value
    if case == "big-key":
        assert dead.key() == BIG_KEY[:settings.max_key_bytes]
        assert dlq["dlq.key.original.size"] == str(len(BIG_KEY)).encode()
    else:
        assert dead.key() == bad_key
    with GroupOffsets(bootstrap_servers, settings.group_id) as offsets:
        assert offsets.total(topic_in, 1, timeout=10) == GOOD + 21


@pytest.mark.parametrize("guarantee", ["exactly-once", "at-least-once"])
def test_a_prediction_over_the_producers_limit_is_dead_lettered_not_produced(
    guarantee, bootstrap_servers, new_topic, make_events, drain_topic, consumer_settings,
) -> None:
    """A key the settings allow (99,000 bytes, limit raised to 100,000) with the producer's
    message.max.bytes lowered to 50,000: its prediction cannot be produced, so it is dead-
    lettered as output_rejected, in the minimal form (its dead letter would not fit either),
    and the 100 others are scored."""
    topic_in, topic_out, topic_dlq = new_topic(1), new_topic(1), new_topic(1)
    keys, values, _ = make_events(GOOD)
    records = [Record(topic_in, k, v) for k, v in zip(keys, values, strict=True)]
    records.insert(10, Record(topic_in, b"B" * 99_000, values[0]))
    produce(bootstrap_servers, topic_in, records)
    settings = consumer_settings(
        input_topic=topic_in, output_topic=topic_out, dlq_topic=topic_dlq,
        guarantee=guarantee, max_key_bytes=100_000, max_events=GOOD + 1,
        kafka_config={"message.max.bytes": "50000"},
    )
    summary = run_consumer(settings, registry=CollectorRegistry())
    assert (summary.consumed, summary.predictions, summary.dead_lettered) == (GOOD + 1, GOOD, 1)
    assert len(drain_topic(topic_out)) == GOOD
    (dead,) = drain_topic(topic_dlq)
    headers = dict(dead.headers())
    assert headers["dlq.reason"] == b"output_rejected"
    assert headers["dlq.source.offset"] == b"10"
    assert (dead.key(), dead.value(), headers["dlq.payload"]) == (None, None, b"dropped")
