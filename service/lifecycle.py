"""Long-running loops: how a stage runs its tasks, restarts them after a bug, and stops them."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable

from service.aio import sleep_or_stop
from service.config import Settings
from service.metrics import Metrics

log = logging.getLogger(__name__)


async def supervise(name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Run a stage loop; if it dies of a bug, log it and start it again rather than stop the service."""
    delay = 1.0
    while not stop.is_set():
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s stopped unexpectedly; restarting in %.0fs", name, delay)
            await sleep_or_stop(stop, delay)
            delay = min(delay * 2, 30.0)


class Stage:
    """Background tasks of one stage, with the stop event they share."""

    def __init__(self, settings: Settings) -> None:
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.timeout = settings.shutdown_timeout

    def spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self.tasks.append(asyncio.create_task(supervise(name, run, self.stop), name=name))

    async def close(self) -> None:
        self.stop.set()
        if not self.tasks:
            return
        _, late = await asyncio.wait(self.tasks, timeout=self.timeout)
        for task in late:
            log.warning("%s did not finish within %.0fs; cancelling it", task.get_name(), self.timeout)
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def measure_loop_lag(metrics: Metrics, stop: asyncio.Event, interval: float = 0.25) -> None:
    """How late the loop wakes from a timer: the time this process could not react to anything."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        expected = loop.time() + interval
        await sleep_or_stop(stop, interval)
        metrics.event_loop_lag.observe(max(0.0, loop.time() - expected))


async def watch_file(refresh: Callable[[], bool], stop: asyncio.Event, interval: float) -> None:
    """Call ``refresh`` (a config file's change check) every ``interval`` seconds until stopped.

    In a thread: a large edit takes seconds to parse and compile, and on the
    event loop that would freeze every request and stage for as long. The
    objects ``refresh`` swaps in are read by the loop as they are, whole.
    """
    while not await sleep_or_stop(stop, interval):
        await asyncio.to_thread(refresh)


def set_aside_long_lived() -> None:
    """Take every object alive now out of the garbage collector's future passes (``gc.freeze``).

    A rule set is a few hundred thousand objects that live until the next
    edit. Left to the collector, every full pass walks them all again, and a
    pass holds the interpreter lock: during a reload, in the loading thread,
    that froze the event loop for a tenth of a second or more at a time (the
    reload of the shipped library, measured: longest stall about 175 ms
    unfrozen, 75 ms frozen; the whole reload 1.1 s against 0.8 s). Frozen
    objects are still freed by reference counting, which is how a replaced
    rule set goes (it holds no cycles); only cyclic garbage among them would
    stay, and a reload is a rare, human-paced event.
    """
    gc.freeze()


def settling(refresh: Callable[[], bool]) -> Callable[[], bool]:
    """``refresh``, followed by :func:`set_aside_long_lived` whenever it installed something new."""

    def refresh_and_settle() -> bool:
        changed = refresh()
        if changed:
            set_aside_long_lived()
        return changed

    return refresh_and_settle
