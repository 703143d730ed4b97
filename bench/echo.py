"""`python -m bench.echo [python -m consumer flags]`: the bare client, the latency floor.

It reads the input topic and writes each record's value unchanged to the output topic, with
the service's own Kafka clients (`consumer.edge.clients`: the same librdkafka settings, the same
guarantee) and no work in between: no decoding, scoring, drift, metrics or second thread.
Exactly-once: one transaction per batch with the offsets in it; at-least-once: flush, then an
asynchronous offset commit. A batch is what has arrived (like the service's loop: never held
back to fill up). The bench's latency curve measures it beside the service at the same rate,
so the service's latency reads against what the broker and the machine give any client.

Prints "echo assigned <partitions>" on its first assignment; stops at SIGTERM/SIGINT after the
current batch. Any Kafka error ends the run (exit 1): a floor measured around failures would
not be one.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

from confluent_kafka import KafkaException, TopicPartition
from pydantic_settings import CliApp

from common.logs import configure_logging
from consumer.edge.clients import build_consumer, build_producer
from consumer.edge.errors import split_errors
from consumer.edge.offsets import next_offsets
from consumer.settings import ConsumerSettings

TXN_TIMEOUT = 30.0  # seconds


def echo(settings: ConsumerSettings, stop: threading.Event) -> int:
    """Echo until `stop`; the number of records written."""
    consumer = build_consumer(settings)
    producer = build_producer(settings)
    eos = settings.exactly_once
    if eos:
        producer.init_transactions(TXN_TIMEOUT)
    consumer.subscribe([settings.input_topic], on_assign=_announce)
    written = 0
    try:
        while not stop.is_set():
            messages = consumer.consume(num_messages=settings.batch_size, timeout=0) or (
                consumer.consume(num_messages=1, timeout=settings.batch_timeout))
            data, errors = split_errors(messages)
            if errors:
                raise KafkaException(errors[0].error())
            if not data:
                continue
            if eos:
                producer.begin_transaction()
            for msg in data:
                producer.produce(settings.output_topic, msg.value(), msg.key())
            producer.poll(0)
            offsets = next_offsets(consumer, data)  # the service's offsets, markers stepped
            if eos:
                producer.send_offsets_to_transaction(
                    offsets, consumer.consumer_group_metadata(), TXN_TIMEOUT)
                producer.commit_transaction(TXN_TIMEOUT)
            else:
                if producer.flush(TXN_TIMEOUT):
                    raise RuntimeError("the echo's records were not acknowledged in time")
                consumer.commit(offsets=offsets, asynchronous=True)
            written += len(data)
    finally:
        consumer.close()
    return written


_assigned = threading.Event()


def _announce(consumer: Any, partitions: list[TopicPartition]) -> None:
    if partitions and not _assigned.is_set():
        _assigned.set()
        print("echo assigned", ", ".join(f"{p.topic}[{p.partition}]" for p in partitions),
              flush=True)


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    settings = CliApp.run(ConsumerSettings, cli_args=sys.argv[1:] if argv is None else argv)
    stop = threading.Event()

    def on_signal(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    written = echo(settings, stop)
    print(f"written={written}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
