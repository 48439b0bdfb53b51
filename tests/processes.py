"""`geoalert` as real processes, for tests that signal, kill and restart them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from service.embedded_redis import free_port
from tests.conftest import ROOT


class Service:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.log: list[str] = []
        self.out: list[str] = []

    async def _collect(self, stream: asyncio.StreamReader | None, into: list[str]) -> None:
        assert stream is not None
        while line := await stream.readline():
            into.append(line.decode())

    async def wait_log(self, text: str, timeout: float = 20.0, *, stdout: bool = False) -> None:
        lines = self.out if stdout else self.log

        async def seen() -> None:
            while not any(text in line for line in lines):
                if self.process.returncode is not None:
                    raise AssertionError(f"exited before logging {text!r}:\n{''.join(self.log)}")
                await asyncio.sleep(0.02)

        try:
            await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {text!r} logged within {timeout}s:\n{''.join(self.log)}") from None

    async def terminate(self, timeout: float = 20.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def interrupt(self, timeout: float = 20.0) -> int:
        """Ctrl-C at a terminal: SIGINT to the whole process group, worker processes included."""
        os.killpg(self.process.pid, signal.SIGINT)
        return await asyncio.wait_for(self.process.wait(), timeout)


@asynccontextmanager
async def geoalert(*args: str, env: dict[str, str], cwd: Path) -> AsyncIterator[Service]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", *args,
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal would give it
    )  # fmt: skip
    service = Service(process)
    readers = [
        asyncio.create_task(service._collect(process.stdout, service.out)),
        asyncio.create_task(service._collect(process.stderr, service.log)),
    ]
    try:
        yield service
    except BaseException:
        # The process's own account is the best clue to a failed test: show it.
        print(f"--- geoalert {' '.join(args)} stderr ---\n{''.join(service.log)}")
        print(f"--- stdout ---\n{''.join(service.out)}")
        raise
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await asyncio.gather(*readers)


def service_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOALERT_")}
    env["PYTHONPATH"] = str(ROOT)
    env["GEOALERT_DATA_DIR"] = str(tmp_path / ".geoalert")
    env["GEOALERT_RULES_DIR"] = str(ROOT / "rules")
    env["GEOALERT_FEEDS_FILE"] = str(ROOT / "seeds/feeds.yaml")
    env["GEOALERT_SUBSCRIPTIONS_FILE"] = str(ROOT / "seeds/subscriptions.yaml")
    env["GEOALERT_HTTP_PORT"] = str(free_port())
    env["GEOALERT_PARSE_PROCESSES"] = "0"  # as in make_settings: a few small documents
    env.update({f"GEOALERT_{k.upper()}": v for k, v in settings.items()})
    return env


def alert_lines(service: Service) -> list[str]:
    return [line for line in service.out if line.startswith("ALERT")]


SEED_BODY = (ROOT / "seeds/000_ea0251ca5b7d77f2.txt").read_text().split("\n", 4)[-1]


def summit_and_arms_article(n: int, prefix: str = "fault") -> str:
    """JSON of an article that raises one leader_summit and one arms_deal alert of its own."""
    from service.models import Article, utcnow

    return Article(
        id=f"{prefix}-{n}",
        title=f"Kim Jong Un to meet Putin to discuss arms supplies (report {n})",
        body=SEED_BODY,
        published=utcnow(),
    ).model_dump_json()
