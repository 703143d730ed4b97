"""The scripted end-to-end demo (`python -m demo`, `make demo`).

It starts a Kafka broker of its own, the topics, the scoring consumer (`python -m consumer`,
drift monitoring on, small windows) and a local Prometheus when installed, then plays a story
with one producer process per phase (`baseline`, `data-drift`, `concept-drift` with late
labels) while a live terminal view shows throughput, latency, lag, dead letters and every
drift flag. At the end it writes `demo-output/summary.json` (when each drift was flagged,
false flags during baseline) and a drift report (`drift_report.png`, `drift_report.html`) read
back from the drift-reports topic, and stops everything it started.

Modules: `settings` (DEMO_* / flags), `story` (the phases), `services` and `processes` (start /
stop by pid), `kafka_io` (broker, topics, reading back), `metrics_reader` (/metrics), `live_view`,
`summary` (first-flag timings), `report` (PNG + HTML).
"""

from demo.exceptions import DemoError, Interrupted, ProcessFailed, SetupError
from demo.settings import DemoSettings
from demo.story import Story, StoryResult

__all__ = [
    "DemoError",
    "DemoSettings",
    "Interrupted",
    "ProcessFailed",
    "SetupError",
    "Story",
    "StoryResult",
]
