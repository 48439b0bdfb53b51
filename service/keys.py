"""Every Redis key the service uses, in one place, each with why it exists.

All keys start with the configured prefix so that several deployments (or
test runs) can share one Redis without seeing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "geoalert:"

    @property
    def articles(self) -> str:
        """Stream of normalised articles: poller and push API -> matcher."""
        return f"{self.prefix}articles"

    @property
    def alerts(self) -> str:
        """Stream of alerts: matcher -> dispatcher; also the alert history the API pages through."""
        return f"{self.prefix}alerts"

    def dead_letter(self, stream: str) -> str:
        """Entries of ``stream`` that failed too many times, kept for inspection."""
        return f"{stream}:dead"

    def seen_article(self, article_id: str) -> str:
        """Marks an article as ingested so that no poller appends it twice (expires)."""
        return f"{self.prefix}seen:article:{article_id}"

    def seen_alert(self, alert_id: str) -> str:
        """Marks an alert (rule x story) as raised so a redelivered article raises nothing new."""
        return f"{self.prefix}seen:alert:{alert_id}"

    def seen_url(self, url_digest: str) -> str:
        """Marks a canonical article URL as ingested: the same page from two feeds, or re-pushed, is one article."""
        return f"{self.prefix}seen:url:{url_digest}"

    def seen_content(self, content_digest: str) -> str:
        """Marks an article's normalised text as ingested: a copy under another GUID and URL is still a duplicate."""
        return f"{self.prefix}seen:content:{content_digest}"

    def story_band(self, band: int, value: str) -> str:
        """Sorted set (by publication time) of ``story|article`` whose signature has ``value`` in ``band``.

        Near-duplicate lookup: similar signatures share at least one band exactly,
        so only those few candidates are compared.
        """
        return f"{self.story_band_prefix}{band}:{value}"

    @property
    def story_band_prefix(self) -> str:
        """The start of every ``story_band`` key: the story script builds them from a signature."""
        return f"{self.prefix}story:band:"

    def story_signature(self, article_id: str) -> str:
        """An article's MinHash signature, compared against when a later article may be the same story."""
        return f"{self.prefix}story:sig:{article_id}"

    def story_sources(self, story_id: str) -> str:
        """Set of the sources that carried one story: later copies count as more sources, not alerts."""
        return f"{self.prefix}story:sources:{story_id}"

    def feed_state(self, feed: str) -> str:
        """Hash: one feed's polling state (validators, status, errors, next run), shared by every poller."""
        return f"{self.prefix}feed:{feed}"

    def feed_lease(self, feed: str) -> str:
        """Held by the poller that fetched a feed, until the feed is due again: one fetch per interval fleet-wide."""
        return f"{self.prefix}feed:{feed}:lease"

    @property
    def rules_status(self) -> str:
        """Hash: the matchers' view of the rule set (version, errors), for the health endpoint."""
        return f"{self.prefix}status:rules"

    @property
    def deliveries_due(self) -> str:
        """Sorted set of delivery ids by the time their next attempt is due (a lease when in flight)."""
        return f"{self.prefix}deliveries:due"

    def delivery(self, delivery_id: str) -> str:
        """Hash: one delivery of one alert to one subscription, with its attempts."""
        return f"{self.prefix}delivery:{delivery_id}"

    @property
    def deliveries_dead(self) -> str:
        """Stream of deliveries that exhausted their attempts or failed for good."""
        return f"{self.prefix}deliveries:dead"


ARTICLES_GROUP = "matchers"
ALERTS_GROUP = "dispatchers"
