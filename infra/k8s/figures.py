"""The measured figures the Kubernetes manifests are sized from, and what follows from them.

The numbers are the README's (Benchmarks: `make bench` of 2026-11-30 13:51; Scaling out:
`python -m bench --cases scale` of 2026-11-26), copied here once; tests/unit/test_k8s.py reads
the README's tables and fails when they and this module disagree, and checks the manifests
against the derived values below. Change a figure in the README and here together, then the
manifests the test points at.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- measured (README) ---------------------------------------------------------------------
E2E_EPS = 29_700  # one consumer end to end: exactly-once, drift on, 2 vCPUs shared with the broker
PEAK_RSS_MB = (285, 282, 209, 279, 215, 194)  # every process of the scale table (1, 2, 3 consumers)
BENCH_RSS_MB = 282  # rss_mb of the last `make bench`
RSS_TARGET_MB = 400  # the benchmark's RSS target (< 400 MB)
STARTUP_S = 3.1  # process start to /readyz

# -- topology ------------------------------------------------------------------------------
# Partitions of diamonds.events (docker-compose's topics service and infra/k8s/kafka): more
# consumers than partitions sit idle, so it is the autoscalers' maxReplicaCount.
EVENTS_PARTITIONS = 3

# -- autoscaling ---------------------------------------------------------------------------
# The lag one replica may carry before another is added: what one replica scores in about
# DRAIN_S seconds at its measured throughput, rounded down to a thousand. Well above a healthy
# replica's lag (at most a batch or two: batches hold <= 1,000 events) and the ConsumerLagGrowing
# alert's 1,000, so steady traffic never scales; a backlog of N x threshold asks for N replicas.
DRAIN_S = 1.0
LAG_THRESHOLD = int(E2E_EPS * DRAIN_S) // 1000 * 1000

# -- resources of one consumer -------------------------------------------------------------
MIB = 1024 * 1024
MB = 1000 * 1000
# Request: the largest peak RSS measured plus 10 %; limit: room for the label-join cache to
# fill (200,000 predictions) and above the benchmark's 400 MB target, so an OOM kill means a
# leak, not load.
MEMORY_REQUEST_MIB = 320
MEMORY_LIMIT_MIB = 512
# One core per consumer: the throughput above was measured with the consumer's thread busy
# ~90 % of a core (scoring threads 1); less and LAG_THRESHOLD's drain time stretches.
CPU_REQUEST_CORES = 1.0
CPU_LIMIT_CORES = 2.0  # librdkafka's threads burst beside the scoring thread

# -- probes of one consumer ----------------------------------------------------------------
# /healthz itself fails only after consumer/app.py's liveness_timeout (477 s with the
# defaults), so the kubelet adds little: period x failures stays within the consumer's own
# idle allowance (settings.liveness_timeout, 32 s). timeoutSeconds is the HTTP server's own
# per-socket timeout (metrics_request_timeout, 5 s). The startup window is far above the
# measured start (3.1 s) to leave room for a cold node reading the model from the volume.


@dataclass(frozen=True)
class Probe:
    """One HTTP probe of the consumer's metrics port, as the manifest spells it."""

    path: str
    periodSeconds: int  # noqa: N815 - the Kubernetes field names
    timeoutSeconds: int  # noqa: N815
    failureThreshold: int  # noqa: N815

    @property
    def window_s(self) -> int:
        """Seconds of consecutive failures before the kubelet acts."""
        return self.periodSeconds * self.failureThreshold


PROBES = {
    "startupProbe": Probe("/healthz", periodSeconds=2, timeoutSeconds=5, failureThreshold=30),
    "readinessProbe": Probe("/readyz", periodSeconds=5, timeoutSeconds=5, failureThreshold=2),
    "livenessProbe": Probe("/healthz", periodSeconds=10, timeoutSeconds=5, failureThreshold=3),
}
# SIGTERM finishes the batch and commits: one transactional call and its watchdog
# (TXN_TIMEOUT 30 s + HANG_GRACE 15 s) fit, with room to leave the group and close.
TERMINATION_GRACE_S = 60
