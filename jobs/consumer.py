"""Run the huey consumer inside the web app's process (thread workers, no signal handlers),
and keep every consuming process's presence row fresh (store/workers.py).

huey's Consumer.start() installs signal handlers, which would take SIGINT/SIGTERM away from
the web server; in-process we skip them and start/stop with the app instead.
"""

from __future__ import annotations

import logging
import threading

from huey.consumer import Consumer

from tagmyphotos.store import models as m
from tagmyphotos.store import workers as presence

from .queue import huey

log = logging.getLogger("tagmyphotos.jobs")


class Presence:
    """A daemon thread that announces this process as a worker until stopped."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-presence", daemon=True)

    def start(self) -> Presence:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                presence.announce(self.threads)
            except Exception as exc:  # the database may be briefly away; try at the next tick
                log.warning("worker presence not recorded: %s: %s", type(exc).__name__, exc)
            self._stop.wait(presence.WORKER_ANNOUNCE_S)
        try:
            presence.retire()
        except Exception:  # leaving is best effort: the row ages out anyway
            log.debug("worker presence not removed", exc_info=True)
        finally:
            m.database.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class InProcessConsumer(Consumer):
    presence: Presence | None = None

    def _set_signal_handlers(self) -> None:
        """The host process (NiceGUI/uvicorn) owns the signals."""


def start_consumer(workers: int = 2, periodic: bool = True) -> InProcessConsumer:
    consumer = InProcessConsumer(
        huey, workers=workers, worker_type="thread", periodic=periodic, check_worker_health=True,
        initial_delay=0.1, backoff=1.15, max_delay=2.0,
    )  # fmt: skip
    consumer.start()
    consumer.presence = Presence(workers).start()
    return consumer


def stop_consumer(consumer: InProcessConsumer, graceful: bool = True) -> None:
    if consumer.presence is not None:
        consumer.presence.stop()
    consumer.stop(graceful=graceful)
