"""Logs, metrics and traces: PII masking, Prometheus collectors, OpenTelemetry context in events."""

__all__: list[str] = []
