"""`python -m producer [options]`: simulate the diamond event stream (see `--help`).

Exit codes: 0 every event (and label) delivered, 1 something undelivered or a setup error (broker
unreachable, topic not authorised, data missing), 2 bad settings.
"""

from __future__ import annotations

import sys

from pydantic import ValidationError
from pydantic_settings import CliApp

from common.logs import configure_logging
from common.validation import describe
from model.exceptions import ModelError
from producer.app import StopRequest, handle_signals, run_producer
from producer.exceptions import KafkaToolkitError, ProducerError
from producer.settings import ProducerSettings


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    configure_logging()
    try:
        settings = CliApp.run(ProducerSettings, cli_args=args)
    except ValidationError as exc:
        print(f"error: invalid settings: {describe(exc)}", file=sys.stderr)  # no secret values
        return 2
    try:
        with handle_signals(StopRequest()) as stop:
            summary = run_producer(settings, stop=stop)
    except (ProducerError, KafkaToolkitError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary.line())
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
