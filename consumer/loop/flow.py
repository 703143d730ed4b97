"""Flow control of the labels topic: pause its assigned partitions while the label handler
asks (`LabelHandler.should_pause()`: labels far ahead of their events, e.g. catching up on a
backlog), resume them once it no longer does. Asked after every batch and every idle poll, so a
stream that stopped still gets its labels; paused again each time (a rebalance resumes)."""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaException

from consumer.observers import LabelHandler

log = logging.getLogger(__name__)


class LabelFlow:
    def __init__(self, consumer: Any, handler: LabelHandler) -> None:
        self.consumer = consumer
        self.handler = handler
        self.topic = handler.labels_topic
        self.paused = False

    def pace(self, incoming: int = 0) -> None:
        """Pause or resume the assigned labels partitions, as the handler asks; `incoming`: label
        messages already read and not handed over yet (a batch prepared behind a write in
        flight: its labels arrive after this answer, before the next consume())."""
        pause = self.handler.should_pause(incoming)
        if not (pause or self.paused):
            return
        try:
            tps = [tp for tp in self.consumer.assignment() if tp.topic == self.topic]
            (self.consumer.pause if pause else self.consumer.resume)(tps)
        except KafkaException as exc:  # e.g. revoked meanwhile: the next batch tries again
            log.warning("could not %s %s: %s", "pause" if pause else "resume", self.topic, exc)
            return
        if pause != self.paused:
            log.info("%s %s: %s", "pausing" if pause else "resuming", self.topic,
                     "labels wait for their events" if pause else "their events caught up")
        self.paused = pause
