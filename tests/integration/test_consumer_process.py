"""`python -m consumer` as a real process: graceful SIGTERM and restart without loss or
duplicates, and clear one-line errors with a non-zero exit for a bad model or no broker."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from common.kafka import GroupOffsets
from infra.kafka import free_ports

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
N_EVENTS = 30_000


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LOG_LEVEL": "INFO"}
    env = {k: v for k, v in env.items() if not k.startswith("CONSUMER_")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "consumer", *args], cwd=REPO, env=env, stdout=out, stderr=out
        )


def committed_total(bootstrap_servers: str, group_id: str, topic: str) -> int:
    with GroupOffsets(bootstrap_servers, group_id) as offsets:
        return offsets.total(topic, 3, timeout=10)


def test_sigterm_finishes_the_batch_and_a_restart_loses_and_duplicates_nothing(
    bootstrap_servers, new_topic, make_events, produce_values, drain_topic, unique_group_id,
    model_dir, tmp_path,
) -> None:
    topic_in, topic_out, topic_dlq = new_topic(3), new_topic(3), new_topic(3)
    keys, values, rows = make_events(N_EVENTS)
    produce_values(topic_in, values, keys)
    group = unique_group_id("scorer")
    args = [
        "--bootstrap-servers", bootstrap_servers, "--input-topic", topic_in,
        "--output-topic", topic_out, "--dlq-topic", topic_dlq, "--group-id", group,
        "--model-path", str(model_dir), "--metrics-port", "0", "--metrics-addr", "127.0.0.1",
        "--batch-size", "100",
    ]
    log = tmp_path / "consumer.log"
    first = start(args, log)
    try:
        deadline = time.monotonic() + 60
        while committed_total(bootstrap_servers, group, topic_in) < 2000:
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    text = log.read_text()
    assert "SIGTERM: finishing the current batch" in text and "stopped:" in text
    midway = committed_total(bootstrap_servers, group, topic_in)
    assert 2000 <= midway < N_EVENTS
    # exactly-once: what is committed is exactly what is visible downstream, no more, no less
    assert len(drain_topic(topic_out)) == midway

    second = start([*args, "--max-events", str(N_EVENTS - midway)], log)
    try:
        assert second.wait(timeout=60) == 0, log.read_text()
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    outputs = drain_topic(topic_out)
    ids = [orjson.loads(m.value())["event_id"] for m in outputs]
    assert len(ids) == N_EVENTS and set(ids) == set(rows.index)  # no loss, no duplicate
    assert committed_total(bootstrap_servers, group, topic_in) == N_EVENTS


def run_to_exit(args: list[str], tmp_path: Path, timeout: float = 60) -> tuple[int, str]:
    log = tmp_path / "consumer.log"
    proc = start(args, log)
    try:
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, log.read_text()


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error: ")]


def test_tampered_model_exits_non_zero_with_one_clear_line(model_dir, tmp_path) -> None:
    tampered = tmp_path / "model"
    shutil.copytree(model_dir, tampered)
    with (tampered / "model.joblib").open("ab") as handle:
        handle.write(b"\0")
    code, text = run_to_exit(
        ["--model-path", str(tampered), "--bootstrap-servers", "127.0.0.1:1"], tmp_path
    )
    assert code == 1
    (line,) = error_lines(text)
    assert "cannot load the model" in line and "sha256" in line and "refusing" in line
    assert "Traceback" not in text


def test_missing_model_exits_non_zero(tmp_path) -> None:
    code, text = run_to_exit(["--model-path", str(tmp_path / "nothing")], tmp_path)
    assert code == 1
    (line,) = error_lines(text)
    assert "cannot load the model" in line and "make train" in line


def test_unreachable_broker_exits_non_zero(model_dir, tmp_path) -> None:
    (port,) = free_ports(1)
    code, text = run_to_exit(
        ["--model-path", str(model_dir), "--bootstrap-servers", f"127.0.0.1:{port}",
         "--broker-timeout", "2", "--metrics-port", "0", "--metrics-addr", "127.0.0.1"],
        tmp_path,
    )
    assert code == 1
    (line,) = error_lines(text)
    assert f"no Kafka broker answered at 127.0.0.1:{port} within 2 s" in line
    assert "Traceback" not in text


def test_invalid_settings_exit_2(tmp_path) -> None:
    code, text = run_to_exit(["--batch-size", "0"], tmp_path)
    assert code == 2 and "batch_size" in text and "Traceback" not in text
