"""`python -m infra.k8s render DIR | check | generate [--check]` (see `infra.k8s`)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import yaml

from infra.k8s.exceptions import K8sError
from infra.k8s.generate import stale_files, write_generated
from infra.k8s.kustomize import K8S_DIR, KUSTOMIZATIONS, render
from infra.k8s.validate import validate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.k8s", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    render_cmd = commands.add_parser("render", help="print a kustomization's objects")
    render_cmd.add_argument("directory")
    commands.add_parser("check", help="render and validate every kustomization")
    generate_cmd = commands.add_parser("generate", help="write the generated files")
    generate_cmd.add_argument("--check", action="store_true",
                              help="only report stale files (exit 1 if any)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "render":
            print(yaml.safe_dump_all(render(args.directory), sort_keys=False), end="")
            return 0
        if args.command == "generate":
            if args.check:
                stale = stale_files()
                for path in stale:
                    print(f"stale: {path.relative_to(K8S_DIR.parent.parent)}")
                return 1 if stale else 0
            write_generated()
            return 0
        failures = 0
        for name in KUSTOMIZATIONS:
            objects = render(K8S_DIR / name)
            for obj in objects:
                for error in validate(obj):
                    failures += 1
                    print(f"{name}: {obj['kind']}/{obj['metadata']['name']}: {error}")
            print(f"{name}: {len(objects)} objects")
        return 1 if failures else 0
    except K8sError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
