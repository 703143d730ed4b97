"""What the services, the demo, the benchmarks and the tests share.

- `common.contracts`: topic names and every record format (events, predictions, dead letters,
  labels, drift reports) with their bounds and encoders.
- `common.kafka`: the one Kafka toolkit (client config with redaction, the broker check, topics,
  reading to the end, committed offsets, producing with a bounded wait on a full queue).
- `common.prometheus_text`: the one Prometheus text reader (scrapes, `histogram_quantile`).
- `common.settings`: the frozen pydantic-settings configuration of every entry point's settings.
- `common.logs`, `common.signals`, `common.validation`: logging, signal handlers for a block,
  settings errors without secret values.
"""

from common.kafka.config import client_config, redact
from common.logs import configure_logging
from common.settings import cli_settings_config
from common.validation import describe

__all__ = ["cli_settings_config", "client_config", "configure_logging", "describe", "redact"]
