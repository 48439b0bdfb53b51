"""Who wants which alerts, and through which channel.

- ``model``: the subscription (one spec for the file and the API; the channel a discriminated union)
- ``file``: the declarative file, read-only to the API
- ``store``: the API's subscriptions in Redis, behind the ``Store`` protocol
- ``directory``: both merged and cached, for the dispatcher, the worker and the API

Dependencies run one way: model <- file, store <- directory.
"""

from service.subscriptions.directory import SubscriptionDirectory
from service.subscriptions.file import load_subscriptions_file
from service.subscriptions.model import (
    CHANNELS,
    Channel,
    DigestMode,
    Subscription,
    SubscriptionFields,
    SubscriptionSpec,
    Throttle,
    check_rule_patterns,
    matching,
)
from service.subscriptions.store import Snapshot, Store, SubscriptionStore, new_subscription_id

__all__ = [
    "CHANNELS",
    "Channel",
    "DigestMode",
    "Snapshot",
    "Store",
    "Subscription",
    "SubscriptionDirectory",
    "SubscriptionFields",
    "SubscriptionSpec",
    "SubscriptionStore",
    "Throttle",
    "check_rule_patterns",
    "load_subscriptions_file",
    "matching",
    "new_subscription_id",
]
