"""Progress of a running shard pipeline, logged from the process that launched it.

Beam workers may be other processes (multi-processing DirectRunner) or other
machines (Dask), whose logs never reach the launching process. The index parts
they write to the shared output folder do, so progress is read from there: a
thread counts finished parts every few seconds and logs the count, the rate and
an estimate of the time left.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)


class PartsProgress:
    """Context manager that logs ``done/total`` shards every ``every_s`` seconds while the block runs.

    ``part_path(i)`` is where shard ``i`` leaves its index part when it is finished.
    """

    def __init__(self, part_path: Callable[[int], Path], total: int, what: str, every_s: float = 15.0):
        self.part_path = part_path
        self.total = total
        self.what = what
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="parts-progress", daemon=True)

    def done(self) -> int:
        return sum(self.part_path(i).is_file() for i in range(self.total))

    def __enter__(self) -> "PartsProgress":
        self._start = time.monotonic()
        self._at_start = self.done()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.report()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.report()

    def report(self) -> None:
        done, total = self.done(), self.total
        elapsed = time.monotonic() - self._start
        new = done - self._at_start
        left = f", about {(total - done) * elapsed / new:.0f} s left" if new and done < total else ""
        log.info("%s: %d/%d shards done (%.0f%%) after %.0f s%s", self.what, done, total, 100 * done / total, elapsed, left)
