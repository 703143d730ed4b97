"""Command line of the local Kafka broker: ``python -m infra.kafka {fetch,start,stop,status}``.

Results go to stdout (``start`` prints the bootstrap address), progress to stderr. Expected
failures (no Java, port in use, broker exited) print one ``error: ...`` line and exit 1;
``status`` exits 0 when the broker answers, 1 when it runs but does not answer, 3 when none runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from infra.kafka.daemon import daemon_status, start_daemon, stop_daemon
from infra.kafka.exceptions import BrokerError
from infra.kafka.jars import ensure_libs
from infra.kafka.settings import LocalKafkaSettings

logger = logging.getLogger(__name__)

EXIT_NOT_RUNNING = 3


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--host", help="listen address (env KAFKA_LOCAL_HOST, default 127.0.0.1)")
    common.add_argument("--port", type=int, help="client port (env KAFKA_LOCAL_PORT, default 9092)")
    common.add_argument("--controller-port", type=int,
                        help="KRaft controller port (env KAFKA_LOCAL_CONTROLLER_PORT, "
                             "default port + 1)")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging, log tails")
    parser = argparse.ArgumentParser(
        prog="python -m infra.kafka",
        description="Local Apache Kafka broker (KRaft, one node) run from Maven jars. "
                    "Files live in KAFKA_LOCAL_HOME (default <repo>/.cache/kafka).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("fetch", parents=[common], help="resolve the broker jars (idempotent)")
    start = commands.add_parser("start", parents=[common],
                                help="start the background broker, print its address "
                                     "(idempotent)")
    start.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for ready")
    stop = commands.add_parser("stop", parents=[common],
                               help="stop the background broker (idempotent)")
    stop.add_argument("--timeout", type=float, default=30.0,
                      help="seconds between SIGTERM and SIGKILL")
    commands.add_parser("status", parents=[common], help="is the background broker up?")
    return parser


def load_settings(args: argparse.Namespace) -> LocalKafkaSettings:
    flags = {"host": args.host, "port": args.port, "controller_port": args.controller_port}
    overrides: dict[str, Any] = {key: value for key, value in flags.items() if value is not None}
    return LocalKafkaSettings(**overrides)


def run(args: argparse.Namespace, settings: LocalKafkaSettings) -> int:
    if args.command == "fetch":
        print(ensure_libs(settings.libs_dir, stamp_file=settings.stamp_file))
    elif args.command == "start":
        print(start_daemon(settings, timeout=args.timeout))
    elif args.command == "stop":
        pid = stop_daemon(settings, timeout=args.timeout)
        print("no broker running" if pid is None else f"stopped broker pid {pid}")
    else:
        status = daemon_status(settings)
        if status.pid is None:
            print("no broker running")
            return EXIT_NOT_RUNNING
        rss = f", RSS {status.rss_bytes / 2**20:.0f} MiB" if status.rss_bytes else ""
        state = "ready" if status.ready else "NOT answering metadata requests"
        print(f"broker pid {status.pid} at {status.bootstrap_servers}: {state}{rss} "
              f"(log: {settings.log_file})")
        return 0 if status.ready else 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="infra.kafka: %(message)s", stream=sys.stderr)
    try:
        return run(args, load_settings(args))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        print(f"error: invalid {field}={error.get('input')!r}: {error['msg']}", file=sys.stderr)
    except BrokerError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if args.verbose and exc.detail:
            print(exc.detail, file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
