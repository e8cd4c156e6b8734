"""Fake webhook receiver: records JSON posts and answers 204 unless told to fail (no spec exists)."""

from __future__ import annotations

from tagmyphotos_lab.fakes.server import FakeServer, Recorded, Reply


class FakeWebhook(FakeServer):
    """Checks method, Content-Type and JSON; the tests verify signature and payload."""

    def __init__(self) -> None:
        super().__init__(name="webhook")

    def dispatch(self, rec: Recorded) -> Reply:
        if rec.method != "POST":
            self.violations.append(f"webhook got {rec.method}, expected POST")
            return 405, None
        if not rec.headers.get("content-type", "").startswith("application/json"):
            self.violations.append(f"webhook Content-Type {rec.headers.get('content-type')!r}")
        try:
            rec.json  # noqa: B018 - parse check
        except ValueError:
            self.violations.append("webhook body is not JSON")
            return 400, None
        return 204, None
