"""The service's Lua scripts, one ``.lua`` file each, shipped as package data.

Each file documents its KEYS and ARGV at the top. Settings travel as ARGV,
never spliced into the source, so one script (one SHA) serves every
deployment and every test prefix. A line ``--! include NAME`` pulls in a
shared Lua function from ``NAME.lua`` when the file is loaded.

Scripts run through redis-py's own script objects (EVALSHA, loading the
script on NOSCRIPT), on a single Redis, behind Sentinel or on a cluster.
Pipelines of scripts go through ``run_pipeline``: redis-py loads a plain
pipeline's scripts before sending it, but not a cluster pipeline's, and a
replica promoted by a failover may not have them yet.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from service.durability import Durability

_INCLUDE = re.compile(r"^--! include (\w+)\s*$", re.MULTILINE)


@functools.cache
def source(name: str) -> str:
    """The text of ``NAME.lua``, with its includes resolved."""
    text = resources.files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: source(m.group(1)), text)


@dataclass
class Script:
    """One script bound to a client: ``await script(keys, args)``, or queued on a pipeline."""

    name: str
    redis: Redis

    def __post_init__(self) -> None:
        self.source = source(self.name)
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()
        self._script = self.redis.register_script(self.source)

    async def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return await self._script(keys=list(keys), args=list(args))

    def queue(self, pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Queue a call on ``pipe``; run the pipeline with ``run_pipeline``."""
        if isinstance(pipe, Pipeline):
            pipe.scripts.add(self._script)  # type: ignore[arg-type]  # redis-py loads it before sending the pipeline
        # As a plain command: a cluster pipeline refuses its evalsha method, yet routes the
        # command itself by its keys.
        pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)

    async def load(self) -> None:
        await self.redis.script_load(self.source)  # on a cluster: on every primary


async def run_pipeline(
    redis: Redis,
    build: Callable[[Any], None],
    scripts: Sequence[Script] = (),
    *,
    transaction: bool = False,
    durable: tuple[Durability, str] | None = None,
) -> list[Any]:
    """Build a pipeline with ``build(pipe)`` and run it, loading ``scripts`` where a node lacks them.

    A pipeline is built again and resent after a NOSCRIPT: the scripts queued
    on pipelines are all idempotent, so what ran the first time runs harmlessly again.
    With ``durable=(durability, key)`` the writes to ``key``'s node are followed by
    WAIT (see service.durability), whose reply is checked and left out of the result.
    """
    waits = durable is not None and durable[0].waits
    for attempt in (1, 2):
        async with redis.pipeline(transaction=transaction) as pipe:
            build(pipe)
            if durable is not None and waits:
                durable[0].queue_wait(redis, pipe, durable[1])
            try:
                replies = list(await pipe.execute())
            except NoScriptError:
                if attempt == 2:
                    raise
            else:
                if durable is not None and waits:
                    durable[0].check(replies[-1], f"writes to {durable[1]}")
                    del replies[-durable[0].QUEUED :]
                return replies
        for script in scripts:
            await script.load()
    raise AssertionError("unreachable")
