"""The gateway's Prometheus metrics, in a registry of their own.

Labels are route templates, methods, status codes, outbox destinations, partner ids and purposes:
never a path with an id in it, never a BSN or a payload value. Counters are per worker process. The web layer
measures requests into them and serves them (`gateway.web.metrics`).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


class Metrics:
    """The gateway's metrics in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_http_request_seconds",
            "Time to answer a request",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        # Destinations are "ldv" and "vng:<partner id>": configuration, never personal data.
        self.outbox_deliveries = Counter(
            "gateway_outbox_deliveries",
            "Outbox deliveries to outside logs, by destination and outcome (accepted, failed)",
            ["destination", "outcome"],
            registry=self.registry,
        )
        # Urgent messages flag themselves (a report with acute danger); a sender that flags
        # everything would wear the recipients' attention down. Partner ids and purposes are
        # configuration, never personal data (review of issue 19, finding 8).
        self.urgent_messages = Counter(
            "gateway_urgent_messages",
            "Disclosures sent as urgent (acknowledgement owed within the purpose's short term), "
            "by sender partner and purpose",
            ["sender", "purpose"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "gateway_outbox_backlog",
            "Deliveries waiting in the outbox, by destination (sampled once a minute)",
            ["destination"],
            registry=self.registry,
        )
