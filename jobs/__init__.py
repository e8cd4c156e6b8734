"""The queue room: how a job id reaches a worker (huey), and what starts jobs by the clock.

Modules:
- pipeline: the table of job types in product order (`PIPELINE`, `STAGES`)
- tasks: the huey tasks (`run_job`, `start_job`): thin, they pass job ids to stages/runner.py
- schedules: the minute tick (housekeeping) and the periodic scan, name imports, daily write
- queue: the huey object; signing: signed queue messages
- consumer: the in-process consumer and the worker presence; runtime: this process's Core
"""

__all__ = ["consumer", "pipeline", "queue", "runtime", "schedules", "signing", "tasks"]
