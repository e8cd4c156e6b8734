"""Run the huey consumer inside the web app's process (thread workers, no signal handlers).

huey's Consumer.start() installs signal handlers, which would take SIGINT/SIGTERM away from
the web server; in-process we skip them and start/stop with the app instead.
"""

from __future__ import annotations

from huey.consumer import Consumer

from .queue import huey


class InProcessConsumer(Consumer):
    def _set_signal_handlers(self) -> None:
        """The host process (NiceGUI/uvicorn) owns the signals."""


def start_consumer(workers: int = 2, periodic: bool = True) -> InProcessConsumer:
    consumer = InProcessConsumer(
        huey, workers=workers, worker_type="thread", periodic=periodic, check_worker_health=True,
        initial_delay=0.1, backoff=1.15, max_delay=2.0,
    )  # fmt: skip
    consumer.start()
    return consumer


def stop_consumer(consumer: InProcessConsumer, graceful: bool = True) -> None:
    consumer.stop(graceful=graceful)
