"""Local infrastructure for development, tests and the demo (Kafka broker, Prometheus, Grafana)."""
