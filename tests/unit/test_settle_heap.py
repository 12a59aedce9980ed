"""``settle_heap``: what `mlops serve` does with the garbage collector once the app is loaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import gc, weakref
    from mlops_assets.serving.server import settle_heap

    gc.disable()  # as `mlops serve` starts
    class Node: pass
    a, b = Node(), Node()
    a.other, b.other = b, a  # start-up garbage: a cycle nothing points to
    dead = weakref.ref(a)
    del a, b
    kept = [Node() for _ in range(1000)]  # start-up objects that live on
    settle_heap()
    assert dead() is None, "the start-up cycle was frozen with the rest instead of collected"
    assert gc.isenabled(), "the collector is still off"
    assert gc.get_freeze_count() >= len(kept), "the objects start-up left were not frozen"
    """
)


def test_settle_heap_collects_start_up_garbage_freezes_the_rest_and_turns_collection_on() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)  # own process: freezing is process-wide
    assert done.returncode == 0, done.stderr
