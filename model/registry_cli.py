"""`python -m model registry list|show VERSION|promote VERSION|rollback [--registry-dir DIR]`.

``promote`` and ``rollback`` print what changed; with ``--announce --bootstrap-servers HOST``
they also publish the new aliases on the models topic (the topic must exist: the retrainer
creates it), so every consumer replica follows at once. Without it the retrainer announces
the registry's champion when it next starts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from confluent_kafka import Producer

from common.contracts.models import MODELS_TOPIC
from common.kafka import KafkaToolkitError
from model.announce import announcement, announcement_record, publish
from model.exceptions import ModelError
from model.registry import DEFAULT_REGISTRY_DIR, AliasChange, ModelRegistry


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--registry-dir", default=str(DEFAULT_REGISTRY_DIR),
                        help="registry root (default: %(default)s)")
    announce = argparse.ArgumentParser(add_help=False)
    announce.add_argument("--reason", default="by command (python -m model registry)",
                          help="why: recorded in the history and the announcement")
    announce.add_argument("--announce", action="store_true",
                          help="publish the new aliases on the models topic")
    announce.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    announce.add_argument("--models-topic", default=MODELS_TOPIC)
    top = argparse.ArgumentParser(prog="python -m model registry",
                                  description="list, inspect, promote or roll back versions")
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("list", parents=[common], help="versions, created, MAE, aliases")
    show = commands.add_parser("show", parents=[common], help="one version's records")
    show.add_argument("version")
    promote = commands.add_parser("promote", parents=[common, announce],
                                  help="make VERSION the champion")
    promote.add_argument("version")
    commands.add_parser("rollback", parents=[common, announce],
                        help="the previous champion becomes champion again")
    return top


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(list(argv))
    registry = ModelRegistry(args.registry_dir)
    try:
        if args.command == "list":
            print_list(registry)
        elif args.command == "show":
            info = registry.show(args.version)
            problems = registry.verify(args.version)
            print(json.dumps({"version": info.version, "directory": str(info.directory),
                              "registration": info.registration, "metadata": info.metadata,
                              "verified": not problems, "problems": problems}, indent=2))
        else:
            changes = (registry.promote(args.version, args.reason) if args.command == "promote"
                       else [registry.rollback(args.reason)])
            for change in changes:
                print(change.describe())
            if args.announce:
                announce(registry, changes, args)
    except (ModelError, KafkaToolkitError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def print_list(registry: ModelRegistry) -> None:
    aliases = registry.aliases()
    by_version: dict[str, list[str]] = {}
    for name in ("champion", "challenger"):
        if isinstance(aliases.get(name), str):
            by_version.setdefault(aliases[name], []).append(name)
    print(f"{'version':<8} {'registered':<29} {'source':<8} {'model':<20} {'MAE':>8}  aliases")
    for version in registry.versions():
        try:
            info = registry.show(version)
        except ModelError as exc:  # one unreadable version must not hide the others
            print(f"{version:<8} unreadable: {exc}")
            continue
        mae = info.metadata.get("metrics", {}).get("mae")
        print(f"{version:<8} {info.registration.get('registered_at', '?'):<29} "
              f"{info.registration.get('source', '?'):<8} "
              f"{info.metadata.get('model_version', '?'):<20} "
              f"{mae if mae is None else format(mae, '.1f'):>8}  "
              f"{','.join(by_version.get(version, [])) or '-'}")


def announce(
    registry: ModelRegistry, changes: Sequence[AliasChange], args: argparse.Namespace
) -> None:
    aliases = dict.fromkeys(change.alias for change in changes)
    records = [announcement_record(args.models_topic, alias,
                                   announcement(registry, alias, args.reason))
               for alias in aliases]
    producer = Producer({"bootstrap.servers": args.bootstrap_servers,
                         "enable.idempotence": True})
    publish(producer, records)
    print(f"announced {', '.join(aliases)} on {args.models_topic}")
