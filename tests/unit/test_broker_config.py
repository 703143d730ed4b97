"""The broker launcher without a broker: properties, tool checks, the fetch stamp, the CLI."""

from __future__ import annotations

import base64
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from infra.kafka import BrokerFetchError, BrokerStartError, BrokerToolMissing, LocalBroker
from infra.kafka.__main__ import main
from infra.kafka.daemon import advertised_bootstrap, find_broker_pid, pid_alive, stop_daemon
from infra.kafka.jars import ensure_libs, libs_are_current, pom_digest
from infra.kafka.launcher import new_cluster_id
from infra.kafka.properties import broker_properties, render_properties
from infra.kafka.settings import LocalKafkaSettings

# -- helpers: fake executables at the boundary -------------------------------------------------


def write_script(bin_dir: Path, name: str, body: str) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / name
    script.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def fake_java(bin_dir: Path, version: str = '"17.0.15" 2025-04-15') -> None:
    write_script(bin_dir, "java", f"echo 'openjdk version {version}' >&2\n")


FAKE_MVN_COPIES_JARS = """
echo called >> "$(dirname "$0")/mvn.calls"
for arg in "$@"; do
  case "$arg" in -DoutputDirectory=*) out="${arg#-DoutputDirectory=}";; esac
done
mkdir -p "$out" && touch "$out/kafka_2.13-9.9.9.jar" "$out/kafka-clients-9.9.9.jar"
"""


def mvn_calls(bin_dir: Path) -> int:
    calls = bin_dir / "mvn.calls"
    return len(calls.read_text().splitlines()) if calls.exists() else 0


@pytest.fixture
def pom(tmp_path: Path) -> Path:
    pom = tmp_path / "pom.xml"
    pom.write_text("<project>v1</project>\n")
    return pom


# -- server.properties -------------------------------------------------------------------------


def test_properties_wire_ports_listeners_and_dirs() -> None:
    props = broker_properties(host="127.0.0.1", port=19092, controller_port=19093,
                              log_dir=Path("/data/kafka-logs"))

    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == "/data/kafka-logs"
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr", "share.coordinator.state.topic.min.isr"):
        assert props[key] == "1", key


def test_overrides_replace_defaults() -> None:
    props = broker_properties(host="127.0.0.1", port=1, controller_port=2, log_dir=Path("/d"),
                              overrides={"num.partitions": "6", "x.y": "z"})

    assert props["num.partitions"] == "6"
    assert props["x.y"] == "z"


def test_render_escapes_backslashes_and_non_ascii_for_java_properties() -> None:
    text = render_properties({"a": "C:\\kafka", "b": "/données/kafka", "c": "x=y:z"})

    lines = text.splitlines()
    assert lines[0].startswith("#")
    assert lines[1:] == ["a=C:\\\\kafka", "b=/donn\\u00e9es/kafka", "c=x=y:z"]


def test_local_broker_defaults_controller_port_and_writes_logs_under_data_dir(
    tmp_path: Path,
) -> None:
    broker = LocalBroker(data_dir=tmp_path / "data", libs_dir=tmp_path / "libs", port=29092)

    props = broker.server_properties()

    assert broker.controller_port == 29093
    assert broker.bootstrap_servers == "127.0.0.1:29092"
    assert props["log.dirs"] == str(tmp_path / "data" / "kafka-logs")
    assert broker.log_file == tmp_path / "data" / "broker.log"
    assert not broker.is_running and broker.pid is None


def test_java_command_has_heap_gc_logging_config_and_wildcard_classpath(tmp_path: Path) -> None:
    broker = LocalBroker(data_dir=tmp_path, libs_dir=tmp_path / "libs", heap="256M")

    cmd = broker.java_command("java", "kafka.Kafka", "server.properties")

    assert cmd[:3] == ["java", "-Xmx256M", "-Xms256M"]
    assert {"-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true"} <= set(cmd)
    assert any(arg.startswith("-Dlog4j2.configurationFile=") and arg.endswith("log4j2.xml")
               for arg in cmd)
    assert cmd[-4:] == ["-cp", str(tmp_path / "libs" / "*"), "kafka.Kafka", "server.properties"]


@pytest.mark.parametrize(("port", "controller_port", "message"), [
    (0, None, "port=0 is not a TCP port: expected 1..65535"),
    (65535, None, "controller_port=65536 is not a TCP port"),
    (9092, 9092, "port and controller_port are both 9092"),
])
def test_invalid_ports_are_rejected(tmp_path: Path, port: int, controller_port: int | None,
                                    message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LocalBroker(data_dir=tmp_path, libs_dir=tmp_path, port=port,
                    controller_port=controller_port)


def test_cluster_id_is_kafka_shaped() -> None:
    cluster_id = new_cluster_id()

    assert len(cluster_id) == 22 and not cluster_id.startswith("-")
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


# -- start() refuses early, before any JVM -----------------------------------------------------


def test_start_without_jars_says_to_fetch(tmp_path: Path) -> None:
    # java=sys.executable: any executable passes the PATH check; start() fails before using it.
    broker = LocalBroker(data_dir=tmp_path / "d", libs_dir=tmp_path / "empty", java=sys.executable)

    with pytest.raises(BrokerStartError, match=r"no kafka_2\.13-\*\.jar in .*infra.kafka fetch"):
        broker.start()


def test_start_on_a_port_in_use_fails_with_the_port(tmp_path: Path) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "kafka_2.13-4.1.0.jar").touch()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        broker = LocalBroker(data_dir=tmp_path / "d", libs_dir=libs, port=port,
                             java=sys.executable)

        with pytest.raises(BrokerStartError, match=f"port {port} on 127.0.0.1 is already in use"):
            broker.start()
    assert not broker.is_running


def test_start_without_java_names_what_to_install(tmp_path: Path) -> None:
    broker = LocalBroker(data_dir=tmp_path, libs_dir=tmp_path, java="no-such-java-binary")

    with pytest.raises(BrokerToolMissing, match="no-such-java-binary not found: install a Java"):
        broker.start()


# -- tools and the fetch stamp -----------------------------------------------------------------


def test_missing_java_is_a_one_line_error_naming_the_package(tmp_path: Path, pom: Path) -> None:
    empty_path = str(tmp_path / "bin")

    with pytest.raises(BrokerToolMissing) as error:
        ensure_libs(tmp_path / "libs", pom=pom, path=empty_path)

    assert str(error.value) == ("java not found: install a Java 17+ JDK "
                                "(Debian: apt-get install openjdk-17-jdk-headless)")


def test_old_java_is_rejected(tmp_path: Path, pom: Path) -> None:
    fake_java(tmp_path / "bin", version='"1.8.0_392"')

    with pytest.raises(BrokerToolMissing, match="java 8 at .* is too old for Kafka 4"):
        ensure_libs(tmp_path / "libs", pom=pom, path=str(tmp_path / "bin"))


def test_missing_maven_names_the_package(tmp_path: Path, pom: Path) -> None:
    fake_java(tmp_path / "bin")

    with pytest.raises(BrokerToolMissing, match=r"^mvn not found: install Apache Maven .*maven\)$"):
        ensure_libs(tmp_path / "libs", pom=pom, path=str(tmp_path / "bin"))


def test_fetch_runs_maven_once_then_only_when_the_pom_changes(tmp_path: Path, pom: Path) -> None:
    bin_dir, libs = tmp_path / "bin", tmp_path / "cache" / "libs"
    fake_java(bin_dir)
    write_script(bin_dir, "mvn", FAKE_MVN_COPIES_JARS)
    stamp = tmp_path / "cache" / ".stamp-libs"

    assert ensure_libs(libs, pom=pom, path=str(bin_dir)) == libs
    ensure_libs(libs, pom=pom, path=str(bin_dir))

    assert mvn_calls(bin_dir) == 1
    assert stamp.read_text().strip() == pom_digest(pom)
    assert libs_are_current(libs, stamp, pom)
    (libs / "stale-from-old-version.jar").touch()
    pom.write_text("<project>v2</project>\n")
    assert not libs_are_current(libs, stamp, pom)

    ensure_libs(libs, pom=pom, path=str(bin_dir))

    assert mvn_calls(bin_dir) == 2
    assert sorted(p.name for p in libs.iterdir()) == ["kafka-clients-9.9.9.jar",
                                                        "kafka_2.13-9.9.9.jar"]


def test_current_stamp_needs_no_tools_at_all(tmp_path: Path, pom: Path) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "kafka_2.13-4.1.0.jar").touch()
    (tmp_path / ".stamp-libs").write_text(pom_digest(pom) + "\n")

    assert ensure_libs(libs, pom=pom, path=str(tmp_path / "no-bin")) == libs


def test_stamp_without_the_broker_jar_refetches(tmp_path: Path, pom: Path) -> None:
    (tmp_path / ".stamp-libs").write_text(pom_digest(pom) + "\n")

    assert not libs_are_current(tmp_path / "libs", tmp_path / ".stamp-libs", pom)


def test_maven_failure_keeps_its_output_and_leaves_no_stamp(tmp_path: Path, pom: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_java(bin_dir)
    write_script(bin_dir, "mvn", "echo '[ERROR] Could not resolve kafka_2.13'\nexit 1\n")

    with pytest.raises(BrokerFetchError, match="exited with code 1") as error:
        ensure_libs(tmp_path / "libs", pom=pom, path=str(bin_dir))

    assert "Could not resolve kafka_2.13" in error.value.detail
    assert not (tmp_path / ".stamp-libs").exists()


def test_maven_without_the_broker_jar_is_an_error(tmp_path: Path, pom: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_java(bin_dir)
    write_script(bin_dir, "mvn", "exit 0\n")

    with pytest.raises(BrokerFetchError, match=r"no kafka_2\.13-\*\.jar"):
        ensure_libs(tmp_path / "libs", pom=pom, path=str(bin_dir))


# -- daemon bookkeeping and the CLI ------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KAFKA_LOCAL_HOME", str(tmp_path / "home"))
    for name in ("KAFKA_LOCAL_PORT", "KAFKA_LOCAL_CONTROLLER_PORT", "KAFKA_LOCAL_HOST"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def test_settings_layout_and_env(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_LOCAL_PORT", "19092")

    settings = LocalKafkaSettings()

    assert settings.bootstrap_servers == "127.0.0.1:19092"
    assert settings.resolved_controller_port == 19093
    assert settings.stamp_file == home / ".stamp-libs"
    assert settings.pid_file == home / "run" / "broker.pid"
    assert settings.data_dir == home / "run" / "data"


def test_advertised_bootstrap_is_read_back_from_the_properties(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    path.write_text(render_properties(broker_properties(
        host="127.0.0.1", port=19092, controller_port=19093, log_dir=tmp_path)))

    assert advertised_bootstrap(path) == "127.0.0.1:19092"
    assert advertised_bootstrap(tmp_path / "missing") is None


def test_a_stale_pid_file_never_signals_an_unrelated_process(home: Path) -> None:
    settings = LocalKafkaSettings()
    settings.run_dir.mkdir(parents=True)
    settings.pid_file.write_text(f"{os.getpid()}\n")  # alive, but not a broker

    assert find_broker_pid(settings) is None
    assert stop_daemon(settings) is None
    assert not settings.pid_file.exists()


def test_pid_alive_is_false_for_a_reaped_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()

    assert pid_alive(os.getpid())
    assert not pid_alive(child.pid)


def test_cli_status_and_stop_without_a_broker(home: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"]) == 3
    assert main(["stop"]) == 0
    assert capsys.readouterr().out.splitlines() == ["no broker running", "no broker running"]


def test_cli_fetch_without_java_prints_one_error_line(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))

    assert main(["fetch"]) == 1

    err = capsys.readouterr().err
    assert err.splitlines() == ["error: java not found: install a Java 17+ JDK "
                                "(Debian: apt-get install openjdk-17-jdk-headless)"]


def test_cli_rejects_a_bad_port_in_one_line(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["start", "--port", "70000"]) == 1

    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: invalid port=70000")
