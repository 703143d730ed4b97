"""Event generation without Kafka: sample test rows, apply a scenario, serialise JSON payloads.

`EventGenerator` is usable in-process by tests, benchmarks and the demo:

===================================  ===================================================
call                                 gives
===================================  ===================================================
``EventGenerator.from_settings(s)``  the stream `python -m producer` would send for `s`
``gen.take(n)``                      an `EventBatch`: keys, JSON values, true prices
``gen.frame(n)``                     the next `n` events as a DataFrame (no serialising)
===================================  ===================================================

Both calls consume the same stream: event `i` is the same whichever calls produced it. Rows are
sampled (with replacement) in fixed chunks of `chunk_size`, so the stream is a pure function of
the seed, the scenario parameters and `chunk_size` -- not of the send rate. Sampling and the
scenario draw from two independent child streams of the seed, so every scenario sees exactly the
rows `baseline` would send with the same seed.

Payload (`common.contracts.events`, fields in `EVENT_FIELDS` order): ``{"event_id":
f"{run_id}-{index}", "carat", "cut", "color", "clarity", "depth", "table", "event_time"}``;
`event_time` is epoch milliseconds stamped once when the batch is taken (a retry re-sends the
same bytes); the key is the event_id in UTF-8.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd

from model.features import FEATURES, TARGET
from producer.scenarios import SCENARIOS, Scenario

if TYPE_CHECKING:
    from producer.settings import ProducerSettings

DEFAULT_CHUNK_SIZE = 1024


def new_run_id() -> str:
    """A short random id (8 hex digits) so that two runs never share event ids."""
    return secrets.token_hex(4)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def load_test_rows() -> pd.DataFrame:
    """The held-out 20 % test split (features + price) the stream samples from."""
    from model.data import load_diamonds, split  # heavy (seaborn): only when no source is given

    _, test = split(load_diamonds())
    return test.reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Consecutive events `first_index ..`, serialised and ready to produce."""

    first_index: int
    event_time: int
    event_ids: list[str]
    keys: list[bytes]
    values: list[bytes]
    prices: list[int]

    def __len__(self) -> int:
        return len(self.keys)


class EventGenerator:
    """A seeded, scenario-shaped, endless stream of diamond events."""

    def __init__(
        self,
        source: pd.DataFrame,
        *,
        scenario: str | Scenario = "baseline",
        seed: int = 42,
        run_id: str = "run",
        drift_onset: int = 0,
        drift_ramp: int = 10_000,
        drift_strength: float = 1.0,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        missing = [c for c in (*FEATURES, TARGET) if c not in source.columns]
        if missing or source.empty:
            raise ValueError(f"source needs rows and the columns {missing or list(FEATURES)}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        if isinstance(scenario, str):
            if scenario not in SCENARIOS:
                choices = ", ".join(SCENARIOS)
                raise ValueError(f"unknown scenario {scenario!r}; expected one of {choices}")
            scenario = SCENARIOS[scenario](
                onset=drift_onset, ramp=drift_ramp, strength=drift_strength
            )
        self.scenario = scenario
        self.seed = seed
        self.run_id = run_id
        self.chunk_size = chunk_size
        self._source = source[[*FEATURES, TARGET]].reset_index(drop=True)
        self._columns = {c: self._source[c].to_numpy() for c in (*FEATURES, TARGET)}
        self._n_source = len(source)
        sample_seq, scenario_seq = np.random.SeedSequence(seed).spawn(2)
        self._sample_rng = np.random.default_rng(sample_seq)
        self._scenario_rng = np.random.default_rng(scenario_seq)
        self._chunk: dict[str, list[Any]] = {}
        self._chunk_prices: list[int] = []
        self._chunk_start = 0
        self._pos = 0  # position inside the current chunk
        self._next_index = 0

    @classmethod
    def from_settings(
        cls,
        settings: ProducerSettings,
        *,
        source: pd.DataFrame | None = None,
        run_id: str | None = None,
    ) -> EventGenerator:
        return cls(
            load_test_rows() if source is None else source,
            scenario=settings.scenario,
            seed=settings.seed,
            run_id=run_id or settings.run_id or new_run_id(),
            drift_onset=settings.drift_onset,
            drift_ramp=settings.drift_ramp,
            drift_strength=settings.drift_strength,
        )

    @property
    def next_index(self) -> int:
        """Index of the next event `take` or `frame` will return."""
        return self._next_index

    def take(self, n: int, *, event_time: int | None = None) -> EventBatch:
        """The next `n` events, serialised; `event_time` defaults to now (epoch ms)."""
        first, cols, prices = self._take_columns(n)
        stamp = now_ms() if event_time is None else event_time
        prefix = f"{self.run_id}-"
        ids = [f"{prefix}{i}" for i in range(first, first + n)]
        dumps = orjson.dumps
        values = [
            dumps({
                "event_id": eid, "carat": carat, "cut": cut, "color": color,
                "clarity": clarity, "depth": depth, "table": table, "event_time": stamp,
            })
            for eid, carat, cut, color, clarity, depth, table in zip(
                ids, cols["carat"], cols["cut"], cols["color"], cols["clarity"],
                cols["depth"], cols["table"], strict=True,
            )
        ]
        return EventBatch(first, stamp, ids, [i.encode() for i in ids], values, prices)

    def frame(self, n: int) -> pd.DataFrame:
        """The next `n` events as a frame: `index`, the features and the label `price`."""
        first, cols, prices = self._take_columns(n)
        frame = pd.DataFrame({"index": np.arange(first, first + n), **cols})
        frame[TARGET] = np.asarray(prices, dtype=np.int64)
        return frame

    def _take_columns(self, n: int) -> tuple[int, dict[str, list[Any]], list[int]]:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        first = self._next_index
        cols: dict[str, list[Any]] = {c: [] for c in FEATURES}
        prices: list[int] = []
        remaining = n
        while remaining:
            if self._pos == len(self._chunk_prices):
                self._next_chunk()
            end = min(self._pos + remaining, len(self._chunk_prices))
            for column, values in self._chunk.items():
                cols[column].extend(values[self._pos:end])
            prices.extend(self._chunk_prices[self._pos:end])
            remaining -= end - self._pos
            self._pos = end
        self._next_index += n
        return first, cols, prices

    def _next_chunk(self) -> None:
        start = self._chunk_start + len(self._chunk_prices)
        picked = self._sample_rng.integers(0, self._n_source, size=self.chunk_size)
        index = np.arange(start, start + self.chunk_size, dtype=np.int64)
        picked = self.scenario.pick(picked, index, self._source, self._scenario_rng)
        rows = pd.DataFrame({c: values[picked] for c, values in self._columns.items()})
        features, prices = self.scenario.apply(rows, index, self._scenario_rng)
        if len(features) != self.chunk_size or len(prices) != self.chunk_size:
            raise ValueError(f"scenario {self.scenario!r} changed the number of rows")
        self._chunk = {c: features[c].tolist() for c in FEATURES}
        self._chunk_prices = np.asarray(prices, dtype=np.int64).tolist()
        self._chunk_start = start
        self._pos = 0
