"""The Kafka edge of the service: every librdkafka client, and nothing else talks to Kafka.

::

    clients.py   build_consumer / build_producer / build_admin, check_broker (startup)
    delivery.py  Sink: write_batch(outputs, dead_letters, offsets) = send(outputs, dead_letters)
                 + complete(offsets) (the waiting half), exactly- or at-least-once
    offsets.py   next_offsets (commit after a batch), first_offsets + rewind (retry a batch)
    lag.py       LagTracker: lag per assigned partition, in its own thread on its own client
"""

from consumer.edge.clients import build_admin, build_consumer, build_producer, check_broker
from consumer.edge.delivery import AtLeastOnceSink, ExactlyOnceSink, FaultHook, Sink
from consumer.edge.lag import LagTracker
from consumer.edge.offsets import first_offsets, next_offsets, rewind

__all__ = [
    "AtLeastOnceSink",
    "ExactlyOnceSink",
    "FaultHook",
    "LagTracker",
    "Sink",
    "build_admin",
    "build_consumer",
    "build_producer",
    "check_broker",
    "first_offsets",
    "next_offsets",
    "rewind",
]
