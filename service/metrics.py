"""Prometheus metrics, one registry per app (so tests can build many apps side by side)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.articles_ingested = Counter(
            "geoalert_articles_ingested_total",
            "New articles appended to the articles stream",
            ["source"],
            registry=self.registry,
        )
        self.articles_duplicate = Counter(
            "geoalert_articles_duplicate_total",
            "Articles dropped because they were already ingested",
            ["source"],
            registry=self.registry,
        )
        self.feed_polls = Counter(
            "geoalert_feed_polls_total",
            "Feed polls by feed and outcome (ok, not_modified, error)",
            ["feed", "outcome"],
            registry=self.registry,
        )
        self.feed_failing = Gauge(
            "geoalert_feed_failing",
            "1 while a feed is failing (GEOALERT_FEED_FAILING_AFTER errors in a row), else 0",
            ["feed"],
            registry=self.registry,
        )
        self.articles_quiet = Counter(
            "geoalert_articles_quiet_total",
            "New articles stored without raising alerts: too_old (GEOALERT_ALERT_MAX_AGE) or first_poll",
            ["reason"],
            registry=self.registry,
        )
        self.story_copies = Counter(
            "geoalert_story_copies_total",
            "New articles that joined an earlier story (another outlet's copy)",
            registry=self.registry,
        )
        self.feed_runs_skipped = Counter(
            "geoalert_feed_runs_skipped_total",
            "Scheduled feed runs not started: overrun (still running), missed, or leased by another poller",
            ["reason"],
            registry=self.registry,
        )
        self.feed_not_modified = Counter(
            "geoalert_feed_not_modified_total",
            "Feed fetches answered 304 Not Modified (nothing to ingest)",
            registry=self.registry,
        )
        self.articles_matched = Counter(
            "geoalert_articles_matched_total",
            "Articles run through the rules",
            registry=self.registry,
        )
        self.rule_errors = Counter(
            "geoalert_rule_errors_total",
            "Rule evaluations that raised and were skipped (the article still met the other rules)",
            ["rule"],
            registry=self.registry,
        )
        self.alerts_raised = Counter(
            "geoalert_alerts_raised_total",
            "Alerts appended to the alerts stream",
            ["rule"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "geoalert_deliveries_total",
            "Delivery attempts by channel and outcome (delivered, retrying, dead, cancelled; throttled: not queued)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "geoalert_delivery_latency_seconds",
            "Time from an alert's creation to its successful delivery",
            ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
            registry=self.registry,
        )
        self.stream_lag = Gauge(
            "geoalert_stream_lag",
            "Entries not yet delivered to a consumer group",
            ["stream"],
            registry=self.registry,
        )
        self.event_loop_lag = Histogram(
            "geoalert_event_loop_lag_seconds",
            "How late the event loop runs a timer: time the process cannot react",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.stream_pending = Gauge(
            "geoalert_stream_pending",
            "Entries delivered to a consumer group but not yet acknowledged",
            ["stream"],
            registry=self.registry,
        )
        self.stream_length = Gauge(
            "geoalert_stream_length",
            "Entries in a stream (read from Redis at scrape time)",
            ["stream"],
            registry=self.registry,
        )
        self.deliveries_active = Gauge(
            "geoalert_deliveries_active",
            "Deliveries due or in flight, over every endpoint (read from Redis at scrape time)",
            registry=self.registry,
        )
        self.deliveries_dead_letters = Gauge(
            "geoalert_deliveries_dead_letters",
            "Deliveries that are dead letters now, not redelivered since with success (read from Redis at scrape time)",
            registry=self.registry,
        )
