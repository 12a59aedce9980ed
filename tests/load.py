"""Bounded loopback load with admin actions fired part-way through, for the hot-swap tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx

Record = TypeVar("Record")


def under_load(
    url: str,
    threads: int,
    per_thread: int,
    request: Callable[[httpx.Client, int, int], Record],
    actions: Sequence[Callable[[], Any]],
) -> tuple[list[Record], list[Any]]:
    """``threads`` keep-alive clients each make ``per_thread`` calls of ``request(client, thread, i)``.

    The actions run in order while the load goes on, evenly spaced: with two, after a third
    and after two thirds of the requests have completed. Returns every request's record and
    every action's result; a failure in any client thread fails the caller.
    """
    done = threading.Semaphore(0)
    results: list[list[Record]] = [[] for _ in range(threads)]
    failures: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            with httpx.Client(base_url=url, trust_env=False, timeout=10) as own:
                for i in range(per_thread):
                    results[k].append(request(own, k, i))
                    done.release()
        except BaseException as exc:  # any failure in a worker fails the test, reported below
            failures.append(exc)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    outcomes = []
    for action in actions:
        for _ in range(threads * per_thread // (len(actions) + 1)):
            done.acquire()
        outcomes.append(action())
    for t in pool:
        t.join()
    assert not failures, failures
    return [r for rs in results for r in rs], outcomes
