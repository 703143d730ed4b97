"""The independent audit: read input, predictions and dead letters back and match them up.

Counting is per input record (partition, offset), never per event_id: two different input
records that share an event_id must each get their own prediction. A reader with
`isolation.level=read_committed` (what any downstream consumer sees) reads every topic from the
start up to its high watermark taken when the audit starts; under read_committed it waits at an
open transaction (a killed consumer's, until the broker aborts it), so nothing is missed.

    lost        input records with neither a prediction nor a dead letter
    duplicates  predictions + dead letters beyond the first per input record
    misrouted   valid records dead-lettered, or poison records predicted
    wrong_reason poison records dead-lettered with another reason than the corpus expects
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from confluent_kafka import Message

from common.kafka import iter_to_end
from tests.chaos.cluster import Cluster
from tests.chaos.corpus import is_poison_key

VALID, POISON = 1, 2
# big fetches for a fast audit; log_level 2: no connection noise after a broker restart
READER_CONFIG = {"fetch.max.bytes": 64 * 1024 * 1024, "log_level": 2}


@dataclass
class Audit:
    events_in: int = 0
    valid_in: int = 0
    poison_in: int = 0
    predictions: int = 0
    predictions_unique: int = 0
    dlq_records: int = 0
    dlq: int = 0
    duplicates: int = 0
    lost: int = 0
    misrouted: int = 0
    wrong_reason: int = 0
    unknown_outputs: int = 0
    dlq_reasons: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


def read_topic(bootstrap: str, topic: str, handle: Callable[[Message], None],
               timeout: float = 180.0) -> int:
    """Feed every committed record of `topic` to `handle`, up to today's high watermarks."""
    count = 0
    for msg in iter_to_end(bootstrap, topic, timeout=timeout, config=READER_CONFIG):
        handle(msg)
        count += 1
    return count


def audit(cluster: Cluster, input_topic: str, output_topic: str, dlq_topic: str,
          poison: dict[bytes, str], timeout: float = 180.0) -> Audit:
    b = cluster.bootstrap_servers
    ends = cluster.end_offsets(input_topic)
    kind = {p: np.zeros(end, dtype=np.int8) for p, end in ends.items()}
    expected: dict[tuple[int, int], str] = {}
    result = Audit()

    def on_input(msg: Message) -> None:
        p, o, key = int(msg.partition() or 0), int(msg.offset() or 0), msg.key() or b""
        if is_poison_key(key):
            kind[p][o] = POISON
            expected[(p, o)] = poison[key]
        else:
            kind[p][o] = VALID

    read_topic(b, input_topic, on_input, timeout)
    preds = {p: np.zeros(end, dtype=np.int32) for p, end in ends.items()}
    dead = {p: np.zeros(end, dtype=np.int32) for p, end in ends.items()}

    def locate(p: int, o: int, what: str) -> bool:
        if p not in kind or not 0 <= o < len(kind[p]) or kind[p][o] == 0:
            result.unknown_outputs += 1
            result.note(f"{what} for an unknown input record {p}@{o}")
            return False
        return True

    def on_prediction(msg: Message) -> None:
        body = orjson.loads(msg.value() or b"null")
        p, o = int(body["source_partition"]), int(body["source_offset"])
        if locate(p, o, "prediction"):
            preds[p][o] += 1

    def on_dead_letter(msg: Message) -> None:
        raw: Any = msg.headers() or []
        headers = {str(k): (v or b"").decode(errors="replace") for k, v in raw}
        p, o = int(headers["dlq.source.partition"]), int(headers["dlq.source.offset"])
        reason = headers.get("dlq.reason", "")
        result.dlq_reasons[reason] = result.dlq_reasons.get(reason, 0) + 1
        if not locate(p, o, "dead letter"):
            return
        dead[p][o] += 1
        want = expected.get((p, o))
        if want is not None and reason != want:
            result.wrong_reason += 1
            result.note(f"{p}@{o} {msg.key()!r}: reason {reason!r}, expected {want!r}")
        if not headers.get("dlq.error"):
            result.note(f"{p}@{o}: dead letter without dlq.error")

    result.predictions = read_topic(b, output_topic, on_prediction, timeout)
    result.dlq_records = read_topic(b, dlq_topic, on_dead_letter, timeout)

    for p in ends:
        k, n_pred, n_dead = kind[p], preds[p], dead[p]
        is_valid, is_poison = k == VALID, k == POISON
        result.valid_in += int(is_valid.sum())
        result.poison_in += int(is_poison.sum())
        result.predictions_unique += int((n_pred > 0).sum())
        result.dlq += int((n_dead > 0).sum())
        handled = n_pred + n_dead
        lost = (k > 0) & (handled == 0)
        result.lost += int(lost.sum())
        result.duplicates += int(np.clip(handled - 1, 0, None)[k > 0].sum())
        misrouted = (is_valid & (n_dead > 0)) | (is_poison & (n_pred > 0))
        result.misrouted += int(misrouted.sum())
        for o in np.flatnonzero(lost)[:3].tolist():
            result.note(f"lost: {input_topic}[{p}]@{o}")
    result.events_in = result.valid_in + result.poison_in
    return result
