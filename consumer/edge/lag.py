"""Consumer lag per assigned partition, measured by a dedicated AdminClient in a daemon thread.

lag = last stable offset (ListOffsets latest, isolation READ_COMMITTED, so open upstream
transactions are not lag) - the group's committed offset (the start of the log when nothing is
committed yet). It runs every `interval` seconds, never per batch, and on its own client: a
confluent_kafka Consumer must not be called from two threads, and a watermark query on the
consumer's own connection would queue behind its long-poll fetch and stall the loop. It also
keeps reporting when the consume loop is stuck, which is when the lag alert matters.

The group's committed offsets are read with `offsets.committed()`, a consumer handle of the same
group that never subscribes (so never joins the group) and reads with read_uncommitted (no wait
for open transactions). Not with AdminClient.list_consumer_group_offsets: librdkafka (up to at
least 2.12, issue #5040) dereferences a NULL consumer-group handle when that admin request meets
NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS, which a broker restart causes: a SIGSEGV of the
whole service. The admin fallback is kept only for fakes in unit tests.

The consume loop calls `on_assign` / `on_revoke` / `on_commit`; per-partition series of revoked
partitions are removed under the same lock the thread uses to publish, so none reappears.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import OffsetSpec

from common.kafka.reading import committed_offsets
from consumer.ops.metrics import ConsumerMetrics

log = logging.getLogger(__name__)

Partition = tuple[str, int]
REQUEST_TIMEOUT = 5.0


class LagTracker:
    def __init__(
        self, admin: Any, group_id: str, metrics: ConsumerMetrics, interval: float,
        *, offsets: Any | None = None,
    ) -> None:
        self.admin = admin
        self.offsets = offsets  # a never-subscribed Consumer of the group (see the docstring)
        self.group_id = group_id
        self.metrics = metrics
        self.interval = interval
        self._lock = threading.Lock()
        self._assigned: set[Partition] = set()
        self._committed: dict[Partition, int] = {}
        self._lags: dict[Partition, int] = {}
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # -- called by the consume loop ---------------------------------------------------------
    def on_assign(self, partitions: Iterable[TopicPartition]) -> None:
        with self._lock:
            self._assigned.update((tp.topic, tp.partition) for tp in partitions)
        self._wake.set()  # measure the new partitions now

    def on_revoke(self, partitions: Iterable[TopicPartition]) -> None:
        with self._lock:
            for tp in partitions:
                key = (tp.topic, tp.partition)
                self._assigned.discard(key)
                self._committed.pop(key, None)
                self._lags.pop(key, None)
                self.metrics.forget_partition(*key)
            self.metrics.consumer_lag_total.set(sum(self._lags.values()))

    def on_commit(self, offsets: Iterable[TopicPartition]) -> None:
        with self._lock:
            for tp in offsets:
                self._record_committed((tp.topic, tp.partition), tp.offset)

    def committed(self) -> dict[Partition, int]:
        """Known committed offsets of the assigned partitions (ours, or read from the group)."""
        with self._lock:
            return dict(self._committed)

    def assigned(self) -> set[Partition]:
        with self._lock:
            return set(self._assigned)

    # -- the measuring thread ---------------------------------------------------------------
    def start(self) -> LagTracker:
        self._thread = threading.Thread(target=self._run, name="consumer-lag", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * REQUEST_TIMEOUT)
        if self.offsets is not None and (self._thread is None or not self._thread.is_alive()):
            try:
                self.offsets.close()
            except (KafkaException, RuntimeError) as exc:
                log.warning("closing the lag offsets reader failed: %s", exc)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self.update()
            except Exception as exc:  # a lag measurement must never take the service down
                log.warning("lag measurement failed: %s", exc)
            self.admin.poll(0)  # serve the admin client's log and error callbacks

    def update(self) -> dict[Partition, int]:
        """Measure once; returns the lag of every assigned partition measured."""
        partitions = sorted(self.assigned())
        if not partitions:
            return {}
        tps = [TopicPartition(t, p) for t, p in partitions]
        committed = self._group_offsets(tps)
        ends = self._offsets(tps, OffsetSpec.latest())
        unstarted = [tp for tp in tps if committed.get((tp.topic, tp.partition), -1) < 0]
        starts = self._offsets(unstarted, OffsetSpec.earliest()) if unstarted else {}
        with self._lock:
            for key, offset in committed.items():
                if key in self._assigned and offset >= 0:
                    self._record_committed(key, offset)
            for key, end in ends.items():
                if key not in self._assigned:
                    continue  # revoked while we measured
                start = self._committed.get(key, starts.get(key, end))
                self._lags[key] = max(0, end - start)
            self.metrics.set_lag(self._lags)
            return dict(self._lags)

    def _record_committed(self, key: Partition, offset: int) -> None:  # holds the lock
        if offset > self._committed.get(key, -1):
            self._committed[key] = offset
            self.metrics.set_committed(key[0], key[1], offset)

    def _group_offsets(self, tps: list[TopicPartition]) -> dict[Partition, int]:
        if self.offsets is not None:
            return committed_offsets(self.offsets, tps, timeout=REQUEST_TIMEOUT)
        request = [ConsumerGroupTopicPartitions(self.group_id, tps)]
        futures = self.admin.list_consumer_group_offsets(request, request_timeout=REQUEST_TIMEOUT)
        result = futures[self.group_id].result(timeout=REQUEST_TIMEOUT)
        return {
            (tp.topic, tp.partition): tp.offset
            for tp in result.topic_partitions
            if tp.error is None
        }

    def _offsets(self, tps: list[TopicPartition], spec: OffsetSpec) -> dict[Partition, int]:
        futures = self.admin.list_offsets(
            {tp: spec for tp in tps},
            isolation_level=IsolationLevel.READ_COMMITTED,
            request_timeout=REQUEST_TIMEOUT,
        )
        out: dict[Partition, int] = {}
        for tp, future in futures.items():
            try:
                out[(tp.topic, tp.partition)] = future.result(timeout=REQUEST_TIMEOUT).offset
            except KafkaException as exc:
                log.debug("offsets of %s[%d] unavailable: %s", tp.topic, tp.partition, exc)
        return out
