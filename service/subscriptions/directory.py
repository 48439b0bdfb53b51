"""Every subscription, the file's and the API's, served to the dispatcher, the worker and the API."""

from __future__ import annotations

from service.subscriptions.model import Subscription
from service.subscriptions.store import Store
from service.watched import WatchedFile


class SubscriptionDirectory:
    """Every subscription: the declarative file's and, when a store is given, the API's.

    The merged list is cached and rebuilt only when the file or the store's
    version changes, so the dispatcher pays one small Redis read per alert.
    """

    def __init__(self, file: WatchedFile[list[Subscription]], store: Store | None = None) -> None:
        self.file = file
        self.store = store
        self._key: tuple[int, int] | None = None
        self._all: list[Subscription] = []
        self._by_id: dict[str, Subscription] = {}

    async def _current(self, version: int | None = None) -> dict[str, Subscription]:
        if version is None:
            version = await self.store.version() if self.store is not None else 0
        key = (id(self.file.current), version)
        if key != self._key:
            overrides: dict[str, tuple[str, str]] = {}
            stored: list[Subscription] = []
            if self.store is not None:
                snapshot = await self.store.snapshot()
                overrides, stored = snapshot.file_overrides, snapshot.subscriptions
                key = (id(self.file.current), snapshot.version)
            merged = self._apply_overrides(list(self.file.current), overrides)
            file_ids = {m.id for m in merged}
            merged += [s for s in stored if s.id not in file_ids]
            self._all, self._by_id, self._key = merged, {s.id: s for s in merged}, key
        return self._by_id

    @staticmethod
    def _apply_overrides(
        subs: list[Subscription], overrides: dict[str, tuple[str, str]]
    ) -> list[Subscription]:
        out = []
        for sub in subs:
            override = overrides.get(sub.id)
            if override is not None and override[0] == sub.fingerprint():
                sub = sub.model_copy(update={"enabled": False, "disabled_reason": override[1]})
            out.append(sub)
        return out

    async def by_id(self, version: int | None = None) -> dict[str, Subscription]:
        """Every subscription by id; ``version``: the store's version if the caller just read it."""
        return dict(await self._current(version))

    async def all(self) -> list[Subscription]:
        await self._current()
        return list(self._all)

    async def get(self, subscription_id: str) -> Subscription | None:
        return (await self._current()).get(subscription_id)

    async def named(self, name: str) -> Subscription | None:
        """The subscription called ``name`` (names are unique), if any."""
        await self._current()
        return next((s for s in self._all if s.name == name), None)

    async def disable(self, subscription_id: str, reason: str) -> None:
        """Stop delivering to a subscription (its endpoint answered 410 Gone, or 401/403/404)."""
        sub = await self.get(subscription_id)
        if sub is None or self.store is None:
            return
        if sub.source == "file":
            # The file is read-only to us: remember the switch-off until the entry is edited.
            await self.store.disable_file_subscription(sub.id, sub.fingerprint(), reason)
        else:
            await self.store.update(
                sub.id, lambda s: s.model_copy(update={"enabled": False, "disabled_reason": reason})
            )

    def refresh(self) -> bool:
        return self.file.refresh()
