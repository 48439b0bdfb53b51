"""Typed keys for everything the application shares (no module-level singletons)."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from notifiers.ssrf import AddressPolicy
from service.config import Settings
from service.consumer import GroupConsumer
from service.delivery import DeliveryQueue, DeliveryWorker
from service.ingest.ingest import Ingest
from service.ingest.poller import Poller
from service.keys import Keys
from service.links import PauseLinks
from service.matching import RuleSource
from service.metrics import Metrics
from service.subscriptions import SubscriptionDirectory

SETTINGS = web.AppKey("settings", Settings)
ROLES = web.AppKey("roles", frozenset)
KEYS = web.AppKey("keys", Keys)
REDIS = web.AppKey("redis", Redis)
METRICS = web.AppKey("metrics", Metrics)
RULES = web.AppKey("rules", RuleSource)
SUBSCRIPTIONS = web.AppKey("subscriptions", SubscriptionDirectory)
POLLER = web.AppKey("poller", Poller)
INGEST = web.AppKey("ingest", Ingest)  # feeds, feed state and article sink: poller and push API
CONSUMERS = web.AppKey("consumers", dict[str, GroupConsumer])  # stage name -> its consumer
DELIVERY_QUEUE = web.AppKey("delivery_queue", DeliveryQueue)
DELIVERY_WORKER = web.AppKey("delivery_worker", DeliveryWorker)
NETGUARD = web.AppKey("netguard", AddressPolicy)  # which addresses webhooks may reach
# Which addresses feeds added over the API, redirects and links in feeds may reach.
FETCHGUARD = web.AppKey("fetchguard", AddressPolicy)
LINKS = web.AppKey("links", PauseLinks)  # signs and checks the pause links of emails
