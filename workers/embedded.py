"""Workers inside this process: dramatiq's worker threads on its in-process broker.

What `stoa up` runs when no broker URL is set, so the embedded default needs no server. The
queue lives in memory: messages not done when the process stops are lost with it, and the next
start-up sends their parts again (`Pipeline.recover`).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker

# How long stopping waits for parts still running; the threads are daemons, so a part cut
# short by the end of the process is sent again at the next start.
STOP_TIMEOUT_MS = 5_000


class InProcessWorkers:
    def __init__(self, broker: StubBroker, threads: int) -> None:
        self.broker = broker
        self.threads = threads
        self._worker: dramatiq.Worker | None = None

    def start(self) -> None:
        if self._worker is None:
            self.broker.emit_after("process_boot")
            self._worker = dramatiq.Worker(self.broker, worker_threads=self.threads)
            self._worker.start()

    def join(self) -> None:
        """Wait until no message is queued, delayed or being worked on (tests, the CLI)."""
        if self._worker is None:
            return
        for queue_name in list(self.broker.queues):
            if not queue_name.endswith((".DQ", ".XQ")):
                self.broker.join(queue_name, fail_fast=False)
        self._worker.join()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop(timeout=STOP_TIMEOUT_MS)
            self._worker = None
