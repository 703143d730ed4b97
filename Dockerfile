# syntax=docker/dockerfile:1
# One image for every role of diamond-monitor: the scoring consumer (default command), the
# producer simulator (`python -m producer`) and the trainer (`python -m model train`).
#
#   docker build -t diamond-monitor:0.1.0 .
#   docker compose up --build            (see docker-compose.yml)
#
# The base image is pinned to a patch release and a Debian release so builds are repeatable;
# bump PYTHON_IMAGE on purpose (both stages must use the same one: the venv is copied across).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# ---------------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

COPY requirements.txt /tmp/requirements.txt
# Wheels only: every dependency (confluent-kafka bundles librdkafka) ships manylinux wheels,
# so no compiler is ever needed; a missing wheel fails here instead of pulling in gcc.
RUN pip install --only-binary=:all: -r /tmp/requirements.txt

# ---------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="diamond-monitor" \
      org.opencontainers.image.description="Diamond-price model served as a Kafka streaming consumer with drift monitoring" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    MPLCONFIGDIR=/tmp/matplotlib

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin app

WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# Source and data stay owned by root: the service user can read but not modify its code.
COPY common/ common/
COPY model/ model/
COPY drift/ drift/
COPY consumer/ consumer/
COPY producer/ producer/
COPY retrainer/ retrainer/
COPY data/ data/

# Byte-compile once at build time (the runtime user cannot write __pycache__), and create the
# artifact directory owned by the service user: a named volume mounted there (compose volume
# `model`, and `registry`) starts with this ownership, so the trainer and the retrainer can
# write and the consumer can read.
RUN python -m compileall -q common model drift consumer producer retrainer \
 && mkdir -p /app/artifacts/model /app/artifacts/registry \
 && chown -R app:app /app/artifacts

USER 10001:10001

# /metrics, /healthz and /readyz of the consumer (CONSUMER_METRICS_PORT) and of the retrainer
# (RETRAINER_METRICS_PORT). The services bind 127.0.0.1 by default; in a container they must
# listen on every interface to be scraped and probed.
ENV CONSUMER_METRICS_ADDR=0.0.0.0 \
    RETRAINER_METRICS_ADDR=0.0.0.0
EXPOSE 8000

CMD ["python", "-m", "consumer"]
