"""`python -m tests.chaos [--scenario NAME ...] [--guarantee MODE|both] [--events N] [--quick]`

Runs each scenario on its own fresh broker (free loopback ports, a temp dir, always stopped),
in each guarantee mode, prints the table and writes tests/chaos/results/latest.json. Exit code
0 when every check passed, 1 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from common.logs import configure_logging
from tests.chaos.cluster import Cluster, own_broker
from tests.chaos.reaper import start as start_reaper
from tests.chaos.report import table, write_json
from tests.chaos.runner import GUARANTEES, Options, Result, Run
from tests.chaos.scenarios import SCENARIOS, Scenario
from tests.chaos.soak import soak
from tests.chaos.stream import build_stream

log = logging.getLogger("tests.chaos")

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
ALL = [*SCENARIOS, "soak"]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", action="append", choices=ALL, metavar="NAME",
                   help=f"repeatable; default: all of {', '.join(ALL)} (--quick: without soak)")
    p.add_argument("--guarantee", choices=[*GUARANTEES, "both"], default="both")
    p.add_argument("--events", type=int, default=None,
                   help="events per scenario (default 50,000; --quick 10,000)")
    p.add_argument("--quick", action="store_true", help="fewer events and faults, no soak")
    p.add_argument("--soak-seconds", type=float, default=None,
                   help="soak duration (default 600; --quick 60)")
    p.add_argument("--soak-rate", type=float, default=2000.0, help="soak events/s")
    p.add_argument("--model-path", type=Path, default=None, help="default: artifacts/model")
    p.add_argument("--output", type=Path, default=RESULTS)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--kafka-config", action="append", default=[], metavar="KEY=VALUE",
                   help="librdkafka property for every consumer, e.g. session.timeout.ms=10000 "
                        "for faster failover (default: the consumer's defaults)")
    p.add_argument("--no-replica-id", dest="replica_ids", action="store_false",
                   help="run each consumer with a random identity (dynamic membership) instead "
                        "of a stable --replica-id per slot")
    p.add_argument("--keep", action="store_true", help="keep the brokers' data dirs")
    return p.parse_args(argv)


def run_one(cluster: Cluster, opts: Options, name: str, guarantee: str) -> Result:
    if name == "soak":
        from tests.chaos.stream import Stream

        run = Run(cluster, opts, name, guarantee, Stream([], 0, {}), rate=None, exact=True)
        with run.running():
            return soak(run)
    spec: Scenario = SCENARIOS[name]
    events = spec.events or opts.events
    stream = build_stream(events, seed=opts.seed, run_id=f"{name}-{guarantee[:3]}",
                          poison=spec.poison, duplicate_ids=50 if spec.poison else 0)
    seconds = spec.stream_seconds and spec.stream_seconds * (0.6 if opts.quick else 1.0)
    rate = len(stream) / seconds if seconds else None
    run = Run(cluster, opts, name, guarantee, stream, rate=rate, exact=spec.exact)
    with run.running():
        return spec.run(run)


def run_scenario(opts: Options, name: str, guarantees: list[str], keep: bool) -> list[Result]:
    results = []
    workdir = opts.workdir / name
    secure = name in SCENARIOS and SCENARIOS[name].secure
    try:
        with own_broker(workdir, secure=secure) as cluster:
            for guarantee in guarantees:
                started = time.monotonic()
                log.info("=== %s / %s ===", name, guarantee)
                try:
                    result = run_one(cluster, opts, name, guarantee)
                except Exception as exc:
                    log.error("%s/%s failed: %s", name, guarantee, exc)
                    result = Result(name, guarantee, failed_checks=[
                        f"error: {type(exc).__name__}: {exc}"])
                    result.details["traceback"] = traceback.format_exc()[-3000:]
                    result.seconds = round(time.monotonic() - started, 1)
                log.info("%s/%s: %s in %.0f s %s", name, guarantee,
                         "PASS" if result.passed else "FAIL", result.seconds,
                         result.failed_checks)
                results.append(result)
    except Exception as exc:  # the broker itself
        log.error("scenario %s: %s", name, exc)
        results.extend(Result(name, g, failed_checks=[f"broker: {exc}"]) for g in guarantees
                       if g not in {r.guarantee for r in results})
    finally:
        if not keep:
            shutil.rmtree(workdir / "kafka", ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    logging.getLogger("infra.kafka").setLevel(logging.WARNING)
    args = parse(argv)
    from model.artifact import DEFAULT_ARTIFACT_DIR, METADATA_FILE

    model = args.model_path or DEFAULT_ARTIFACT_DIR
    if not (model / METADATA_FILE).is_file():
        print(f"error: no model at {model}: run `make train` first", file=sys.stderr)
        return 2
    names = args.scenario or [n for n in ALL if not (args.quick and n == "soak")]
    guarantees = list(GUARANTEES) if args.guarantee == "both" else [args.guarantee]
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    reaper = start_reaper(workdir)
    opts = Options(
        events=args.events or (10_000 if args.quick else 50_000), model_dir=model,
        workdir=workdir, quick=args.quick, seed=args.seed,
        soak_seconds=args.soak_seconds or (60.0 if args.quick else 600.0),
        soak_rate=args.soak_rate, kafka_config=tuple(args.kafka_config),
        replica_ids=args.replica_ids,
    )
    log.info("chaos: %s x %s, %d events each; logs in %s", names, guarantees, opts.events,
             workdir)
    started = time.time()
    results: list[Result] = []
    try:
        for name in names:
            modes = ["exactly-once"] if name == "soak" and args.guarantee == "both" else guarantees
            results.extend(run_scenario(opts, name, modes, args.keep))
            write_json(args.output, opts, results, started)
    finally:
        reaper.kill()
        reaper.wait()
    print(table(results))
    print(f"\n{sum(r.passed for r in results)}/{len(results)} passed in "
          f"{time.time() - started:.0f} s; {args.output}; logs in {workdir}")
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
