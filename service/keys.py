"""Every Redis key the service uses, in one place, each with why it exists.

All keys start with the configured prefix so that several deployments (or
test runs) can share one Redis without seeing each other.

Keys that one script or one transaction touches together share a hash tag
(the part in braces, which holds the prefix too: ``geoalert:{geoalert:articles}``),
so that on Redis Cluster they live in one slot:

- ``{articles}``: the articles stream, its dead letters, the "seen" marks of
  articles and the story index (the ingest script checks, indexes and
  appends in one step);
- ``{alerts}``: the alerts stream, its dead letters and the "seen" marks of
  alerts (the matcher's publish-unique script);
- ``{deliveries}``: the delivery queue, digests, throttles and the
  subscriptions (taking work reads lanes, records, alerts and the
  subscriptions version in one script);
- ``{feeds}``: the feeds added through the API and their version counter
  (changed together in one transaction);
- ``{feed:NAME}``: one feed's state and lease (one slot per feed, so feeds
  spread over the cluster);
- ``{limit:NAME}``: one fleet-wide limit's slots (one per host or endpoint).

With GEOALERT_REDIS_WAIT_REPLICAS, a ``...:replicated`` mark beside the
written key (same slot) is what WAIT confirms (service/durability.py).

The three streams sit in different slots, so on a cluster the articles, the
alerts and the deliveries can each live on a different primary.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "geoalert:"

    def __post_init__(self) -> None:
        if "{" in self.prefix or "}" in self.prefix:
            # A brace would become (or break) the hash tag that keeps related keys in one slot.
            raise ValueError(f"a key prefix may not contain braces: {self.prefix!r}")

    def _tagged(self, group: str) -> str:
        """The start of a group's keys: the prefix, then the group in a hash tag that holds the prefix too.

        With the prefix inside the tag, two deployments sharing a cluster (two
        prefixes, e.g. one per region) put their streams in different slots.
        """
        return f"{self.prefix}{{{self.prefix}{group}}}"

    @property
    def _articles(self) -> str:
        return self._tagged("articles")

    @property
    def _alerts(self) -> str:
        return self._tagged("alerts")

    @property
    def _deliveries(self) -> str:
        return self._tagged("deliveries")

    @property
    def articles(self) -> str:
        """Stream of normalised articles: poller and push API -> matcher."""
        return self._articles

    @property
    def alerts(self) -> str:
        """Stream of alerts: matcher -> dispatcher; also the alert history the API pages through."""
        return self._alerts

    def dead_letter(self, stream: str) -> str:
        """Entries of ``stream`` that failed too many times, kept for inspection (in the stream's slot)."""
        return f"{stream}:dead"

    def seen_article(self, article_id: str) -> str:
        """Marks an article as ingested so that no poller appends it twice (expires)."""
        return f"{self._articles}:seen:article:{article_id}"

    def seen_alert(self, alert_id: str) -> str:
        """Marks an alert (rule x story) as raised so a redelivered article raises nothing new."""
        return f"{self._alerts}:seen:{alert_id}"

    def seen_url(self, url_digest: str) -> str:
        """Marks a canonical article URL as ingested: the same page from two feeds, or re-pushed, is one article."""
        return f"{self._articles}:seen:url:{url_digest}"

    def seen_content(self, content_digest: str) -> str:
        """Marks an article's normalised text as ingested: a copy under another GUID and URL is still a duplicate."""
        return f"{self._articles}:seen:content:{content_digest}"

    def story_band(self, band: int, value: str) -> str:
        """Sorted set (by publication time) of ``story|article`` whose signature has ``value`` in ``band``.

        Near-duplicate lookup: similar signatures share at least one band exactly,
        so only those few candidates are compared.
        """
        return f"{self.story_band_prefix}{band}:{value}"

    @property
    def story_band_prefix(self) -> str:
        """The start of every ``story_band`` key: the ingest script builds them from a signature."""
        return f"{self._articles}:story:band:"

    def story_signature(self, article_id: str) -> str:
        """An article's MinHash signature, compared against when a later article may be the same story."""
        return f"{self._articles}:story:sig:{article_id}"

    def story_sources(self, story_id: str) -> str:
        """Set of the sources that carried one story: later copies count as more sources, not alerts."""
        return f"{self._articles}:story:sources:{story_id}"

    def feed_state(self, feed: str) -> str:
        """Hash: one feed's polling state (validators, status, errors, next run), shared by every poller."""
        return self._tagged(f"feed:{feed}")

    def feed_lease(self, feed: str) -> str:
        """Held by the poller that fetched a feed, until the feed is due again: one fetch per interval fleet-wide."""
        return f"{self._tagged(f'feed:{feed}')}:lease"

    def limit(self, kind: str, name: str) -> str:
        """Sorted set of the slots held in one fleet-wide limit (holder -> lease expiry), e.g. fetches to a host."""
        return self._tagged(f"limit:{kind}:{name}")

    @property
    def rules_status(self) -> str:
        """Hash: the matchers' view of the rule set (version, errors), for the health endpoint."""
        return f"{self.prefix}status:rules"

    @property
    def deliveries_due(self) -> str:
        """Sorted set of endpoints (lanes) by the earliest due time among their deliveries.

        Taking work endpoint by endpoint is what lets a worker skip an endpoint
        whose attempts already fill its share, without scanning its backlog.
        """
        return f"{self._deliveries}:due"

    def delivery_lane(self, endpoint: str) -> str:
        """Sorted set of one endpoint's delivery ids by the time their next attempt is due (a lease when in flight)."""
        return f"{self._deliveries}:lane:{endpoint}"

    def delivery_flight(self, endpoint: str) -> str:
        """Sorted set of one endpoint's deliveries in flight (id -> lease expiry), by every worker: the fleet-wide per-endpoint limit."""
        return f"{self._deliveries}:flight:{endpoint}"

    def delivery(self, delivery_id: str) -> str:
        """Hash: one delivery of one alert (or digest) to one subscription: status, counts, last outcome."""
        return f"{self._deliveries}:delivery:{delivery_id}"

    def alert_payload(self, alert_id: str) -> str:
        """An alert's JSON, stored once for all its deliveries (expires with the delivery log)."""
        return f"{self._deliveries}:alert:{alert_id}"

    def delivery_attempts(self, delivery_id: str) -> str:
        """List: the delivery log of one delivery, one JSON entry per attempt (capped)."""
        return f"{self._deliveries}:attempts:{delivery_id}"

    def subscription_deliveries(self, subscription_id: str) -> str:
        """Sorted set of a subscription's delivery ids by creation time, for its delivery log page."""
        return f"{self._deliveries}:index:{subscription_id}"

    def throttle(self, subscription_id: str, scope: str) -> str:
        """Who last went through a subscription's throttle for one rule (and story), and when (expires)."""
        return f"{self._deliveries}:throttle:{subscription_id}:{scope}"

    def digest(self, subscription_id: str, period_start: int) -> str:
        """Hash of the alerts gathered for one subscription's digest period (alert id -> alert JSON)."""
        return f"{self._deliveries}:digest:{subscription_id}:{period_start}"

    def digest_seen(self, subscription_id: str, alert_id: str) -> str:
        """Marks an alert as gathered into a digest, so a redelivered alert is not gathered twice (expires)."""
        return f"{self._deliveries}:digest-seen:{subscription_id}:{alert_id}"

    @property
    def digests_open(self) -> str:
        """Set of digest buffers not yet sent, so a flush after downtime still finds old periods."""
        return f"{self._deliveries}:digests:open"

    @property
    def subscriptions(self) -> str:
        """Hash of the subscriptions made through the API: id -> JSON."""
        return f"{self._deliveries}:subscriptions"

    @property
    def subscriptions_version(self) -> str:
        """Counter bumped with every subscription change, so readers re-read only when it moves."""
        return f"{self._deliveries}:subscriptions:version"

    @property
    def subscriptions_disabled(self) -> str:
        """Hash: file subscriptions switched off by a 410 (the file is read-only to the service)."""
        return f"{self._deliveries}:subscriptions:disabled"

    def rule_activity(self, rule_id: str) -> str:
        """Hash: alerts a rule raised per hour (hour number -> count), for the console's counts (expires)."""
        return f"{self.prefix}activity:rule:{rule_id}"

    def feed_activity(self, feed: str) -> str:
        """Hash: new articles a feed brought per hour (hour number -> count), for its sparkline (expires)."""
        return f"{self.prefix}activity:feed:{feed}"

    def console_session(self, session_id: str) -> str:
        """A console login (expires): deleting it is what logging out means, whatever the cookie says."""
        return f"{self.prefix}console:session:{session_id}"

    @property
    def feeds(self) -> str:
        """Hash of the feeds added through the HTTP API: name -> JSON (the feeds file's are not here)."""
        return self._tagged("feeds")

    @property
    def feeds_version(self) -> str:
        """Counter bumped with every API feed change, so pollers re-read the feeds only when it moves."""
        return f"{self._tagged('feeds')}:version"

    @property
    def deliveries_dead(self) -> str:
        """Stream of deliveries that exhausted their attempts or failed for good."""
        return f"{self._deliveries}:dead"

    @property
    def link_secret(self) -> str:
        """The key that signs email pause links when GEOALERT_LINK_SECRET is not set (made once)."""
        return f"{self.prefix}link-secret"

    @property
    def deliveries_dead_now(self) -> str:
        """Sorted set of the deliveries that are dead letters now (id -> when): a redelivery that
        succeeds takes its delivery out, while the dead-letter stream keeps the history."""
        return f"{self._deliveries}:dead:now"


ARTICLES_GROUP = "matchers"
ALERTS_GROUP = "dispatchers"
