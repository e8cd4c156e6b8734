"""Running the product: who is calling, is it ready, what it measures and logs.

Why apart: these read every layer below and are read by the app, the API and the metrics endpoint.

Modules:
- auth: API keys, the UI password, session cookies
- health: readiness checks
- metrics: Prometheus metrics
- logs: structured or plain logging
- stats: counts for status, /stats and metrics
"""

__all__ = ["auth", "health", "logs", "metrics", "stats"]
