"""SQLite writers of one process take turns first come, first served."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from app_api.db import WriterQueue


def test_writers_are_served_in_arrival_order() -> None:
    queue = WriterQueue()
    queue.acquire()  # the current writer
    served: list[int] = []
    arrived = threading.Semaphore(0)

    def writer(n: int) -> None:
        arrived.release()
        queue.acquire()
        served.append(n)
        queue.release()

    threads = []
    for n in range(8):
        t = threading.Thread(target=writer, args=(n,))
        t.start()
        arrived.acquire()  # n is about to take its ticket ...
        while queue._next <= n + 1:  # ... and has taken it
            pass
        threads.append(t)
    queue.release()
    for t in threads:
        t.join(5)
    assert served == list(range(8))


def test_a_writer_that_gives_up_passes_its_turn_on() -> None:
    queue = WriterQueue()
    queue.acquire()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        queue.acquire(timeout=0.05)  # ticket 1 abandoned
    done = threading.Event()

    def later() -> None:
        queue.acquire()  # ticket 2
        done.set()

    t = threading.Thread(target=later)
    t.start()
    queue.release()  # 0 done: 1 was abandoned, so 2 is served
    assert done.wait(5)
    t.join(5)
