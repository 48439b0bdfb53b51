"""The garbage collector is paused while rules load, and always given back."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from service.matching import load_rules
from service.matching.collector import collector_paused
from service.matching.errors import RuleLoadError


@pytest.fixture(autouse=True)
def _collector_enabled() -> None:
    assert gc.isenabled()


def test_paused_inside_and_enabled_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_enabled_again_after_an_error() -> None:
    with pytest.raises(ValueError, match="fails"), collector_paused():
        raise ValueError("a load that fails")
    assert gc.isenabled()


def test_overlapping_pauses_end_with_the_last() -> None:
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer load is still running
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pauses_in_threads() -> None:
    started, release = threading.Barrier(2), threading.Event()

    def load() -> None:
        with collector_paused():
            started.wait()
            release.wait()

    thread = threading.Thread(target=load)
    thread.start()
    with collector_paused():
        started.wait()
    assert not gc.isenabled()  # the thread's load goes on
    release.set()
    thread.join()
    assert gc.isenabled()


def test_load_rules_gives_the_collector_back(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: x\ntitle: x\nparts: {a: {any: ['/(/']}}\ncondition: a\n")
    with pytest.raises(RuleLoadError):
        load_rules(tmp_path)
    assert gc.isenabled()
    (tmp_path / "bad.yaml").write_text("id: x\ntitle: x\nparts: {a: {any: [word]}}\ncondition: a\n")
    assert [rule.id for rule in load_rules(tmp_path).rules] == ["x"]
    assert gc.isenabled()
