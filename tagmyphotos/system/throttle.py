"""A failure budget for UI logins and API keys: per client address and for the whole app, with backoff.

Why not a delay per request: the login form talks over a websocket, and an attacker simply
opens more of them (40 sockets made 15.9 guesses/s). Here failures are counted per address
and overall in a sliding window; past the budget, an address (or, past the overall budget,
an address that has failed too) must wait a doubling time before the password is even
checked. The overall budget never locks out an address without a failure of its own: an
attacker's flood must not keep the owner out of their own app. Wrong API keys have a budget of
their own (KEY_THROTTLE: 147 guesses/s were possible). Every failure is a WARNING line and
counts in the `tagmyphotos_login_failures` metric (reason wrong_password/wrong_key, throttled/
key_throttled). In memory: one web process serves the UI, and a restart forgetting old
failures costs an attacker a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter

from tagmyphotos import tuning
from tagmyphotos.system.metrics import PROCESS_REGISTRY

# Failed UI logins are counted over this window (seconds). An outside test guessed 15.9
# passwords/s with 40 socket.io clients (the old 1 s delay was per socket), so the limits are
# per client address and for the whole app, not per connection.
LOGIN_WINDOW_S = 900

# The doubling wait after too many failures stops growing at this many seconds.
LOGIN_LOCKOUT_MAX_S = 900

# Failures from all addresses together in the window before every address must wait between
# attempts (the same doubling): a botnet of addresses is slowed as one client.
LOGIN_FAILURES_OVERALL = 30

log = logging.getLogger("tagmyphotos.auth")

LOGIN_FAILURES = Counter(
    "tagmyphotos_login_failures",
    "Failed UI logins: a wrong password, or an attempt refused because of earlier failures",
    ["reason"],
    registry=PROCESS_REGISTRY,
)
for _reason in ("wrong_password", "throttled", "wrong_key", "key_throttled"):
    LOGIN_FAILURES.labels(_reason)


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    last: float = 0.0

    def prune(self, now: float) -> int:
        while self.times and self.times[0] < now - LOGIN_WINDOW_S:
            self.times.popleft()
        return len(self.times)


def _backoff_s(failures: int, budget: int) -> float:
    over = failures - budget
    return 0.0 if over < 0 else float(min(LOGIN_LOCKOUT_MAX_S, 2 ** (over + 1)))


class LoginThrottle:
    """Tell whether an address may try a password now; record failures and successes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, what: str = "login") -> None:
        self._clock = clock
        self.what = what  # "login" | "API key": log lines and metric reasons
        self._reasons = ("wrong_password", "throttled") if what == "login" else ("wrong_key", "key_throttled")
        self.checking = threading.Lock()  # held from the budget check to the recorded outcome
        self._lock = threading.Lock()
        self._by_client: dict[str, _Failures] = {}
        self._overall = _Failures()

    def wait_s(self, client: str, per_client: int = tuning.LOGIN_FAILURES_PER_CLIENT) -> float:
        """Seconds this address must still wait before its next attempt (0: it may try);
        `per_client` failures are free (auth.key_failures_per_address for API keys)."""
        now = self._clock()
        with self._lock:
            mine = self._by_client.get(client)
            if mine is None or not mine.prune(now):
                return 0.0  # no failure of its own: the overall budget does not lock it out
            waits = [mine.last + _backoff_s(len(mine.times), per_client) - now]
            overall = self._overall.prune(now)
            budget = max(LOGIN_FAILURES_OVERALL, per_client)
            waits.append(self._overall.last + _backoff_s(overall, budget) - now)
        return max(0.0, *waits)

    def refused(self, client: str, wait_s: float) -> None:
        LOGIN_FAILURES.labels(self._reasons[1]).inc()
        log.warning("%s from %s refused: too many failed %ss, %.0f s to wait", self.what, client, self.what, wait_s)

    def failed(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            mine = self._by_client.setdefault(client, _Failures())
            for record in (mine, self._overall):
                record.prune(now)
                record.times.append(now)
                record.last = now
            count = len(mine.times)
            if len(self._by_client) > 10_000:  # a flood of addresses: keep the overall count only
                self._by_client = {client: mine}
        LOGIN_FAILURES.labels(self._reasons[0]).inc()
        log.warning("failed %s from %s (%d in the last %d min)", self.what, client, count, LOGIN_WINDOW_S // 60)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._by_client.pop(client, None)


THROTTLE = LoginThrottle()
KEY_THROTTLE = LoginThrottle(what="API key")
