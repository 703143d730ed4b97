"""Read a Prometheus text exposition (what /metrics serves): samples by name and labels, sums
over labels, histogram buckets and PromQL's ``histogram_quantile``.

The one place that parses exposition text: demo, bench and tests call ``parse`` / ``fetch``
and ask the ``Scrape``. Parsing is ``prometheus_client.parser``'s; nothing here reads lines by
hand. ``histogram_quantile`` follows Prometheus' ``bucketQuantile``: linear interpolation
inside the bucket holding the rank, the lowest bucket starting at 0 (unless its upper bound is
<= 0), the highest finite bound when the rank falls in the +Inf bucket, NaN when there is no
+Inf bucket or no observation, -Inf/+Inf for q below 0 or above 1.
"""

from __future__ import annotations

import math
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Labels", "Scrape", "fetch", "histogram_quantile", "parse"]

Labels = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Scrape:
    """Every sample of one scrape, by (sample name, labels), and when it was taken."""

    at: float
    samples: Mapping[tuple[str, Labels], float]

    def value(self, name: str, **labels: str) -> float | None:
        """The sample with exactly these labels (None when absent)."""
        return self.samples.get((name, frozenset(labels.items())))

    def total(self, name: str, **labels: str) -> float | None:
        """Sum over every label set of ``name`` that has ``labels`` (None when none has)."""
        values = [v for labelset, v in self._matching(name, labels)]
        return sum(values) if values else None

    def by_label(self, name: str, label: str) -> dict[str, float]:
        """``name``'s samples by the value of ``label`` (samples without it are left out)."""
        return {dict(labelset)[label]: v for labelset, v in self._matching(name, {})
                if label in dict(labelset)}

    def buckets(self, name: str, **labels: str) -> list[tuple[float, float]]:
        """Cumulative (upper bound, count) of histogram ``name`` with ``labels``, summed over
        the other labels (PromQL's ``sum by (le)``), sorted by bound."""
        counts: dict[float, float] = {}
        for labelset, v in self._matching(f"{name}_bucket", labels):
            le = float(dict(labelset)["le"])
            counts[le] = counts.get(le, 0.0) + v
        return sorted(counts.items())

    def _matching(self, name: str,
                  labels: Mapping[str, str]) -> Iterable[tuple[Labels, float]]:
        wanted = frozenset(labels.items())
        return ((labelset, v) for (n, labelset), v in self.samples.items()
                if n == name and wanted <= labelset)


def parse(text: str, at: float | None = None) -> Scrape:
    """Parse an exposition; ``at`` (epoch seconds) defaults to now. Raises ValueError when the
    text is not in the Prometheus text format."""
    samples: dict[tuple[str, Labels], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
    return Scrape(time.time() if at is None else at, samples)


def fetch(url: str, timeout: float = 2.0) -> Scrape:
    """GET ``url`` (a /metrics endpoint) and parse it; raises OSError when unreachable."""
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - local URL
        return parse(answer.read().decode("utf-8"))


def histogram_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float:
    """PromQL's ``histogram_quantile(q, ...)`` on cumulative (upper bound, count) buckets."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    merged: dict[float, float] = {}
    for bound, count in buckets:  # the same bound twice: its counts add up
        merged[bound] = merged.get(bound, 0.0) + count
    ordered = sorted(merged.items())
    if not ordered or ordered[-1][0] != math.inf or len(ordered) < 2:
        return math.nan
    # counts must not fall with the bound (a scrape racing an observation): as Prometheus does
    running = 0.0
    ordered = [(bound, running := max(running, count)) for bound, count in ordered]
    observations = ordered[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i, (_, count) in enumerate(ordered[:-1]) if count >= rank),
             len(ordered) - 1)
    if b == len(ordered) - 1:
        return ordered[-2][0]
    if b == 0 and ordered[0][0] <= 0:
        return ordered[0][0]
    start, (end, count) = 0.0, ordered[b]
    if b > 0:
        start, below = ordered[b - 1]
        count -= below
        rank -= below
    if count == 0:  # q == 0 on empty lowest buckets: 0/0, as in Go
        return math.nan
    return start + (end - start) * (rank / count)
