"""Where parsing and text extraction run: worker processes, or threads when there are none.

Parsing is CPU work: in processes it uses every core and leaves the event
loop free. A worker that dies (a parser crash, the OOM killer) breaks the
whole pool; the pool is then replaced, and the one document that was being
parsed is reported as failed, so one bad document never stops ingestion.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group; the service decides when its
    # workers stop, so they must not die mid-job with a traceback of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class WorkerDied(Exception):
    """The worker process running a job died; the job's input may be what killed it."""


class WorkerPool:
    def __init__(self, processes: int = 0) -> None:
        self.processes = processes
        self.executor: Executor | None = self._new()

    def _new(self) -> Executor | None:
        if not self.processes:
            return None  # the event loop's default thread pool
        # spawn, not fork: a forked copy of a process with threads and sockets is unsafe.
        return ProcessPoolExecutor(
            self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts
        )

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        broken = self.executor
        try:
            return await asyncio.get_running_loop().run_in_executor(broken, fn, *args)
        except BrokenProcessPool:
            if self.executor is broken:  # the first job to notice replaces the pool
                log.error("a parse worker process died; starting new workers")
                self.executor = self._new()
                if broken is not None:
                    broken.shutdown(wait=False, cancel_futures=True)
            raise WorkerDied("the worker process died while handling this document") from None

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
