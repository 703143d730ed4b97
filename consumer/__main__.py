"""`python -m consumer [--help] [options]`: run the scoring service until SIGTERM/SIGINT.

Exit codes: 0 after a clean stop (signal or --max-events), 1 on an error (model, broker, fatal
Kafka error, delivery given up), 2 on invalid settings.

Drift monitoring and the label join are on by default; `--no-drift` (short for
`--no-drift-enabled`, env CONSUMER_DRIFT_ENABLED=false) runs the scoring alone.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from confluent_kafka import KafkaException
from pydantic import ValidationError
from pydantic_settings import CliApp, SettingsError

from common.logs import configure_logging
from common.validation import describe
from consumer.app import run_consumer
from consumer.exceptions import ConsumerError, KafkaToolkitError
from consumer.settings import ConsumerSettings

log = logging.getLogger("consumer")

# Short spellings of boolean flags (the settings field keeps its name: CONSUMER_DRIFT_ENABLED).
FLAG_ALIASES = {"--drift": "--drift-enabled", "--no-drift": "--no-drift-enabled"}


def cli_args(argv: list[str]) -> list[str]:
    return [FLAG_ALIASES.get(arg, arg) for arg in argv]


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    try:
        args = cli_args(sys.argv[1:] if argv is None else argv)
        settings = CliApp.run(ConsumerSettings, cli_args=args)
    except (ValidationError, SettingsError) as exc:
        detail = describe(exc) if isinstance(exc, ValidationError) else exc  # no secret values
        print(f"error: invalid settings: {detail}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            log.warning("%s again: already stopping after the current batch", name)
        else:
            log.info("%s: finishing the current batch, then stopping", name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from prometheus_client import REGISTRY  # the default one adds process_* metrics

    try:
        run_consumer(settings, registry=REGISTRY, stop_event=stop)
    except (ConsumerError, KafkaToolkitError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KafkaException as exc:  # not expected: librdkafka raised outside our wrappers
        print(f"error: Kafka client failure: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
