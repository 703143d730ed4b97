"""`python -m retrainer [--help] [options]`: run the retraining service until SIGTERM/SIGINT.

SIGUSR1 asks for a training now (on demand; the gate still applies: rows, gap, one at a time).
Exit codes: 0 after a clean stop, 1 on an error (no champion, broker, registry), 2 on invalid
settings.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from pydantic import ValidationError
from pydantic_settings import CliApp, SettingsError

from common.logs import configure_logging
from common.validation import describe
from model.exceptions import ModelError
from retrainer.app import RetrainerService
from retrainer.exceptions import KafkaToolkitError, RetrainerError
from retrainer.settings import RetrainerSettings

log = logging.getLogger("retrainer")


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    try:
        settings = CliApp.run(RetrainerSettings, cli_args=sys.argv[1:] if argv is None else argv)
    except (ValidationError, SettingsError) as exc:
        detail = describe(exc) if isinstance(exc, ValidationError) else exc  # no secret values
        print(f"error: invalid settings: {detail}", file=sys.stderr)
        return 2
    from prometheus_client import REGISTRY  # the default one adds process_* metrics

    stop = threading.Event()
    service = RetrainerService(settings, registry=REGISTRY, stop_event=stop)

    def on_stop(signum: int, _: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    def on_usr1(signum: int, _: FrameType | None) -> None:
        service.request_training("requested by hand (SIGUSR1)")

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGUSR1, on_usr1)
    try:
        service.run()
    except (RetrainerError, KafkaToolkitError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
