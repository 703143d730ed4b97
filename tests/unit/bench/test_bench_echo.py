"""The bare client's offsets: the next offset per partition of a batch; no broker."""

from __future__ import annotations

from confluent_kafka import Message

from bench.echo import _next_offsets


def test_next_offsets_are_one_past_the_last_message_of_each_partition() -> None:
    messages = [Message(topic="in", partition=p, offset=o)
                for p, o in ((0, 5), (1, 9), (0, 6), (2, 0), (1, 10))]
    offsets = {(tp.topic, tp.partition): tp.offset for tp in _next_offsets(messages)}
    assert offsets == {("in", 0): 7, ("in", 1): 11, ("in", 2): 1}
