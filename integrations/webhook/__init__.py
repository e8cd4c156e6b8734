"""The generic webhook (Home Assistant, n8n, scripts): one signed JSON document per event.

Modules:
- client: sign and verify, the write document, POST it, check
- job_events: job.done / job.failed once a pipeline job ended (integrations.webhook.job_events)
"""

__all__ = ["client", "job_events"]
