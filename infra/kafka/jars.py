"""Resolve the Apache Kafka broker jars with Maven, once per version of ``pom.xml``.

``ensure_libs`` is idempotent: a stamp file holds the SHA-256 of the pom the jars were resolved
from; when it matches and the broker jar is present, nothing runs. Otherwise Maven copies the
runtime dependencies into a staging folder that replaces ``libs_dir`` only when complete, so an
interrupted fetch never leaves a half-filled classpath (or two Kafka versions side by side).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from infra.kafka.exceptions import BrokerFetchError, BrokerToolMissing
from infra.kafka.settings import POM_FILE

logger = logging.getLogger(__name__)

MIN_JAVA = 17
JAVA_HINT = "install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk-headless)"
MVN_HINT = "install Apache Maven 3.8+ (Debian: apt-get install maven)"
KAFKA_JAR_GLOB = "kafka_2.13-*.jar"
STAMP_NAME = ".stamp-libs"
_JAVA_VERSION = re.compile(r'version "(?:1\.)?(\d+)')


def find_tool(name: str, *, hint: str, path: str | None = None) -> str:
    """Absolute path of ``name`` on ``path`` (default: $PATH), or ``BrokerToolMissing``."""
    exe = shutil.which(name, path=path)
    if exe is None:
        raise BrokerToolMissing(f"{name} not found: {hint}")
    return exe


def require_java(path: str | None = None) -> str:
    """The ``java`` executable, checked to be Java 17 or newer (Kafka 4 needs it)."""
    java = find_tool("java", hint=JAVA_HINT, path=path)
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = _JAVA_VERSION.search(result.stderr + result.stdout)
    if match is None:
        raise BrokerToolMissing(f"{java} -version printed no version: {JAVA_HINT}")
    major = int(match.group(1))
    if major < MIN_JAVA:
        raise BrokerToolMissing(f"java {major} at {java} is too old for Kafka 4: {JAVA_HINT}")
    return java


def kafka_jar(libs_dir: Path) -> Path | None:
    """The ``kafka_2.13-<version>.jar`` in ``libs_dir``, if any."""
    return next(iter(sorted(libs_dir.glob(KAFKA_JAR_GLOB))), None)


def pom_digest(pom: Path = POM_FILE) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def libs_are_current(libs_dir: Path, stamp_file: Path, pom: Path = POM_FILE) -> bool:
    """True when the stamp matches ``pom`` and the broker jar is in ``libs_dir``."""
    try:
        stamped = stamp_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return False
    return stamped == pom_digest(pom) and kafka_jar(libs_dir) is not None


def ensure_libs(
    libs_dir: Path,
    *,
    stamp_file: Path | None = None,
    pom: Path = POM_FILE,
    path: str | None = None,
) -> Path:
    """Make sure ``libs_dir`` holds the jars that ``pom`` resolves; return ``libs_dir``.

    ``stamp_file`` defaults to ``<libs_dir>/../.stamp-libs``; ``path`` replaces $PATH when
    looking for java and mvn (and is passed to mvn).
    """
    stamp_file = stamp_file if stamp_file is not None else libs_dir.parent / STAMP_NAME
    if libs_are_current(libs_dir, stamp_file, pom):
        logger.debug("Kafka jars in %s are up to date with %s", libs_dir, pom)
        return libs_dir
    libs_dir.parent.mkdir(parents=True, exist_ok=True)
    with (libs_dir.parent / ".fetch.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be fetching the same folder
        if not libs_are_current(libs_dir, stamp_file, pom):
            _fetch(libs_dir, stamp_file, pom, path)
    return libs_dir


def _fetch(libs_dir: Path, stamp_file: Path, pom: Path, path: str | None) -> None:
    require_java(path)
    mvn = find_tool("mvn", hint=MVN_HINT, path=path)
    staging = libs_dir.with_name(libs_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    env = dict(os.environ) if path is None else {**os.environ, "PATH": path}
    cmd = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
           f"-DoutputDirectory={staging}"]
    logger.info("resolving the Kafka broker jars with Maven into %s", libs_dir)
    started = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise BrokerFetchError(
            f"mvn dependency:copy-dependencies exited with code {result.returncode} for {pom}: "
            "check access to Maven Central and the pom, then retry",
            detail="\n".join(output[-20:]),
        )
    if kafka_jar(staging) is None:
        raise BrokerFetchError(f"Maven succeeded but put no {KAFKA_JAR_GLOB} in {staging}: "
                               f"check the dependencies of {pom}")
    shutil.rmtree(libs_dir, ignore_errors=True)
    staging.rename(libs_dir)
    stamp_file.write_text(pom_digest(pom) + "\n", encoding="utf-8")
    logger.info("resolved %d jars into %s in %.1f s", len(list(libs_dir.glob("*.jar"))),
                libs_dir, time.monotonic() - started)
