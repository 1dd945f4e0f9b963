"""Prometheus metrics, one registry per app (so tests can build many apps)."""

from __future__ import annotations

from collections import Counter as _Count
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sockets = Gauge("ctibridge_websockets", "Open agent WebSockets",
                             registry=self.registry)
        self.events = Counter("ctibridge_events_total", "Hub events published, by name",
                              ["name"], registry=self.registry)
        self.commands = Histogram(
            "ctibridge_command_seconds", "Command latency, by op and outcome",
            ["op", "outcome"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
        )
        self.refused = Counter("ctibridge_ws_errors_total", "Error frames sent, by code",
                               ["code"], registry=self.registry)
        # CRM: screen pops and the call-log outbox.
        self.screenpops = Counter("ctibridge_screenpops_total", "Screen pops sent, by outcome",
                                  ["outcome"], registry=self.registry)
        self.calllog_rows = Gauge("ctibridge_calllog_rows",
                                  "Call-log outbox rows, by status (pending, failed, delivered, "
                                  "uncertain, waiting, skipped)",
                                  ["status"], registry=self.registry)
        self.calllog_deliveries = Counter(
            "ctibridge_calllog_deliveries_total",
            "Call-log delivery attempts, by outcome (delivered, found, retry, failed, "
            "uncertain, waiting, skipped)",
            ["outcome"], registry=self.registry)
        self.crm_auth_refused = Gauge(
            "ctibridge_crm_auth_refused",
            "1 while the CRM refuses the hub's credentials (401/403 on a call log)",
            registry=self.registry)

    def watch_calls(self, states: Callable[[], _Count[str]]) -> None:
        self.registry.register(_CallsCollector(states))


class _CallsCollector(Collector):
    def __init__(self, states: Callable[[], _Count[str]]) -> None:
        self._states = states

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("ctibridge_calls", "Live calls, by connection state",
                              labels=["state"])
        for state, n in sorted(self._states().items()):
            g.add_metric([state], n)
        yield g
