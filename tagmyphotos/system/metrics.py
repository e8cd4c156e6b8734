"""Prometheus metrics: library and job figures read from the database at scrape time, plus
a few in-process instruments (integration calls, model load time, build info).

Why the database and not in-process counters for jobs and writes: in scale-out several worker
processes on other machines do the work, but one web process serves /metrics; the database is
the only place that sees all of them. Only what has no database trace (an HTTP call to Immich,
loading a model) is counted in the process that does it; a worker can expose those on its own
port with `start_process_exporter`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import platform
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import peewee as pw
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Info,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from tagmyphotos import VERSION
from tagmyphotos.store import models as m
from tagmyphotos.store import workers

log = logging.getLogger("tagmyphotos.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Job duration histogram buckets (seconds): a rescan of an unchanged library takes seconds, a
# first analysis of 100k photos on a 2-core NAS takes a day.
JOB_DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 43200.0, 86400.0)
# Analysis throughput is averaged over analyze jobs running now or finished this recently.
THROUGHPUT_WINDOW_S = 3600
# Job states whose duration is final and counted in the histogram.
_TIMED_STATES = (m.JobState.DONE, m.JobState.FAILED)
_FINAL_STATES = (m.JobState.DONE, m.JobState.FAILED, m.JobState.CANCELLED)
INTEGRATION_TARGETS = ("immich", "photoprism", "webhook")
INTEGRATION_RESULTS = ("ok", "error")
WRITE_RESULTS = ("ok", "failed", "restored")

# --- in-process instruments --------------------------------------------------------------------
disable_created_metrics()  # no *_created series: they double the exposition and nobody graphs them
PROCESS_REGISTRY = CollectorRegistry()
ProcessCollector(registry=PROCESS_REGISTRY)
PlatformCollector(registry=PROCESS_REGISTRY)
GCCollector(registry=PROCESS_REGISTRY)

INTEGRATION_CALLS = Counter(
    "tagmyphotos_integration_calls",
    "Calls to Immich, PhotoPrism and the webhook made by this process, by target and result",
    ["target", "result"],
    registry=PROCESS_REGISTRY,
)
for _target in INTEGRATION_TARGETS:
    for _result in INTEGRATION_RESULTS:
        INTEGRATION_CALLS.labels(_target, _result)

MODEL_LOAD_SECONDS = Gauge(
    "tagmyphotos_model_load_seconds",
    "Seconds the last load of each model took in this process",
    ["model"],
    registry=PROCESS_REGISTRY,
)

BUILD_INFO = Info("tagmyphotos_build", "Version of Tag My Photos and its Python", registry=PROCESS_REGISTRY)


BUILD_INFO.info({"version": VERSION, "python": platform.python_version()})


def count_integration_call(target: str, result: str) -> None:
    """Count one call to an outside service; result is 'ok' or 'error' (or a finer word)."""
    INTEGRATION_CALLS.labels(target, result).inc()


@contextmanager
def integration_call(target: str) -> Iterator[None]:
    """Count the wrapped call as ok, or as error when it raises (the exception goes on)."""
    try:
        yield
    except BaseException:
        count_integration_call(target, "error")
        raise
    count_integration_call(target, "ok")


@contextmanager
def model_load(model: str) -> Iterator[None]:
    """Time loading a model (weights into memory): `with metrics.model_load("Dlib"): ...`."""
    started = time.perf_counter()
    yield
    MODEL_LOAD_SECONDS.labels(model).set(time.perf_counter() - started)


# --- database-backed collector ------------------------------------------------------------------


@dataclass
class _JobTally:
    """Jobs finished up to `watermark` (every job id <= it is final), counted once per process."""

    watermark: int = 0
    buckets: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    sums: dict[tuple[str, str], float] = field(default_factory=dict)
    analysed: int = 0
    last_success: dict[str, float] = field(default_factory=dict)
    # (finished_at epoch, photos, seconds) of recent analyze jobs, for the throughput window.
    recent_analyze: deque[tuple[float, int, float]] = field(default_factory=deque)

    def copy(self) -> _JobTally:
        return _JobTally(
            self.watermark, {k: list(v) for k, v in self.buckets.items()}, dict(self.sums),
            self.analysed, dict(self.last_success), deque(self.recent_analyze),
        )  # fmt: skip

    def add(self, job_type: str, state: str, started: Any, finished: Any, done: int) -> None:
        end = _epoch(finished)
        seconds = max(0.0, end - _epoch(started)) if started and finished else None
        if state in _TIMED_STATES and seconds is not None:
            key = (job_type, state)
            counts = self.buckets.setdefault(key, [0] * (len(JOB_DURATION_BUCKETS) + 1))
            counts[bisect.bisect_left(JOB_DURATION_BUCKETS, seconds)] += 1
            self.sums[key] = self.sums.get(key, 0.0) + seconds
        if state == m.JobState.DONE and finished:
            self.last_success[job_type] = max(self.last_success.get(job_type, 0.0), end)
        if job_type == "analyze":
            self.analysed += done
            if seconds is not None:
                self.recent_analyze.append((end, done, seconds))


def _epoch(value: Any) -> float:
    """Naive UTC datetimes from the database (SQLite may hand back text) to Unix seconds."""
    if not value:
        return 0.0
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return float(value.replace(tzinfo=dt.UTC).timestamp())


class LibraryCollector:
    """Reads the database on each scrape. One per process: it caches finished jobs."""

    def __init__(self, queue_depth: Callable[[], int] | None = None, clock: Callable[[], float] = time.time):
        self.queue_depth = queue_depth
        self.clock = clock
        self._tally = _JobTally()
        self._lock = threading.Lock()

    def collect(self) -> Iterable[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily("tagmyphotos_database_up", "1 when the database answered this scrape")
        try:
            families = list(self._from_database())
            up.add_metric([], 1)
        except Exception as exc:  # any driver's error (psycopg2's are not peewee's): still answer
            log.warning("metrics: database query failed: %s: %s", type(exc).__name__, exc)
            families = []
            up.add_metric([], 0)
        yield up
        yield from families
        yield from self._queue()
        took = GaugeMetricFamily("tagmyphotos_scrape_duration_seconds", "Seconds this scrape took")
        took.add_metric([], time.perf_counter() - started)
        yield took

    def _queue(self) -> Iterator[Metric]:
        if self.queue_depth is None:
            return
        depth = self.queue_depth()
        up = GaugeMetricFamily("tagmyphotos_queue_up", "1 when the job queue answered this scrape")
        up.add_metric([], 1 if depth >= 0 else 0)
        yield up
        if depth >= 0:
            g = GaugeMetricFamily("tagmyphotos_queue_depth", "Tasks waiting in the job queue")
            g.add_metric([], depth)
            yield g

    def _from_database(self) -> Iterator[Metric]:
        photos = _count_by(m.Photo, m.Photo.state)
        yield _gauge_by("tagmyphotos_photos", "Photos by state", "state", photos, m.PHOTO_STATES)
        faces = _count_by(m.Face, m.Face.state)
        yield _gauge_by("tagmyphotos_faces", "Faces by state", "state", faces, m.FACE_STATES)
        left = GaugeMetricFamily(
            "tagmyphotos_unknown_faces",
            "Faces not named or ignored yet (unknown + suggested): the review backlog",
        )
        left.add_metric([], faces.get(m.FaceState.UNKNOWN, 0) + faces.get(m.FaceState.SUGGESTED, 0))
        yield left
        people = GaugeMetricFamily(
            "tagmyphotos_people", "People, by whether they are hidden", labels=["hidden"]
        )
        hidden = m.Person.select().where(m.Person.hidden).count()
        people.add_metric(["false"], m.Person.select().count() - hidden)
        people.add_metric(["true"], hidden)
        yield people
        yield from _auto_naming()
        yield self._jobs_gauge()
        yield from self._job_history()
        yield from _workers()
        yield self._writes()

    def _jobs_gauge(self) -> Metric:
        g = GaugeMetricFamily("tagmyphotos_jobs", "Job records by type and state", labels=["type", "state"])
        for (job_type, state), n in sorted(_grouped(m.Job, m.Job.type, m.Job.state).items()):
            g.add_metric([job_type, state], n)
        return g

    def _job_history(self) -> Iterator[Metric]:
        now = self.clock()
        with self._lock:
            tally = self._read_jobs(now).copy()
        hist = HistogramMetricFamily(
            "tagmyphotos_job_duration_seconds",
            "Run time of finished jobs (done or failed), by type and state",
            labels=["type", "state"],
        )
        for (job_type, state), counts in sorted(tally.buckets.items()):
            cumulative, running = [], 0
            for bound, n in zip((*JOB_DURATION_BUCKETS, float("inf")), counts, strict=True):
                running += n
                cumulative.append((_le(bound), running))
            hist.add_metric([job_type, state], cumulative, tally.sums[(job_type, state)])
        yield hist
        done = CounterMetricFamily("tagmyphotos_analysis_photos", "Photos processed by analyze jobs")
        done.add_metric([], tally.analysed)
        yield done
        photos = sum(n for _, n, _ in tally.recent_analyze)
        seconds = sum(s for _, _, s in tally.recent_analyze)
        rate = GaugeMetricFamily(
            "tagmyphotos_analysis_photos_per_second",
            f"Analysis throughput over analyze jobs running or finished in the last {THROUGHPUT_WINDOW_S} s",
        )
        rate.add_metric([], photos / seconds if seconds > 0 else 0.0)
        yield rate
        last = GaugeMetricFamily(
            "tagmyphotos_job_last_success_timestamp_seconds",
            "When the last job of each type finished successfully (Unix time)",
            labels=["type"],
        )
        for job_type, when in sorted(tally.last_success.items()):
            last.add_metric([job_type], when)
        yield last
        oldest = GaugeMetricFamily(
            "tagmyphotos_oldest_queued_job_age_seconds", "Age of the oldest job still waiting (0 = none)"
        )
        first = m.Job.select(m.Job.created_at).where(m.Job.state == m.JobState.QUEUED).order_by(m.Job.id).first()
        oldest.add_metric([], max(0.0, now - _epoch(first.created_at)) if first else 0.0)
        yield oldest

    def _read_jobs(self, now: float) -> _JobTally:
        """Fold newly finished jobs into the cache; jobs past the first unfinished one and
        running analyze jobs are counted in a copy for this scrape only."""
        base = self._tally
        query = (
            m.Job.select(
                m.Job.id, m.Job.type, m.Job.state, m.Job.started_at, m.Job.finished_at, m.Job.progress_done
            )  # fmt: skip
            .where(m.Job.id > base.watermark)
            .order_by(m.Job.id)
        )
        scratch: _JobTally | None = None
        for job in query:
            final = job.state in _FINAL_STATES
            if final and scratch is None:
                base.add(job.type, job.state, job.started_at, job.finished_at, job.progress_done)
                base.watermark = job.id
                continue
            scratch = scratch or base.copy()
            if final:
                scratch.add(job.type, job.state, job.started_at, job.finished_at, job.progress_done)
            elif job.type == "analyze" and job.state == m.JobState.RUNNING and job.started_at:
                scratch.analysed += job.progress_done
                scratch.recent_analyze.append((now, job.progress_done, now - _epoch(job.started_at)))
        while base.recent_analyze and base.recent_analyze[0][0] < now - THROUGHPUT_WINDOW_S:
            base.recent_analyze.popleft()
        view = scratch or base
        if scratch is not None:
            scratch.recent_analyze = deque(
                r for r in scratch.recent_analyze if r[0] >= now - THROUGHPUT_WINDOW_S
            )
        return view

    def _writes(self) -> Metric:
        c = CounterMetricFamily(
            "tagmyphotos_writes", "Metadata write attempts by result and mode (from the write audit)",
            labels=["result", "mode"],
        )  # fmt: skip
        rows = _grouped(m.WriteAudit, m.WriteAudit.result, m.WriteAudit.mode)
        for result in WRITE_RESULTS:  # the three every dashboard plots exist even at zero
            if not any(r == result for r, _ in rows):
                rows[(result, "")] = 0
        for (result, mode), n in sorted(rows.items()):
            c.add_metric([result, mode], n)
        return c


def _auto_naming() -> Iterator[Metric]:
    """Faces the product named by itself (review.auto_accept) and the runs the owner undid."""
    named = CounterMetricFamily("tagmyphotos_auto_named_faces", "Faces named automatically (sure suggestions)")
    named.add_metric([], float(m.AutoBatch.select(pw.fn.COALESCE(pw.fn.SUM(m.AutoBatch.faces), 0)).scalar() or 0))
    yield named
    runs = CounterMetricFamily("tagmyphotos_auto_batches", "Automatic naming runs, by whether they were undone",
                               labels=["undone"])  # fmt: skip
    undone = m.AutoBatch.select().where(m.AutoBatch.undone_at.is_null(False)).count()
    runs.add_metric(["false"], m.AutoBatch.select().count() - undone)
    runs.add_metric(["true"], undone)
    yield runs


def _workers() -> Iterator[Metric]:
    """Scale-out: how many worker processes are there, and what each one analysed."""
    live = GaugeMetricFamily("tagmyphotos_workers", "Worker processes consuming the job queue (seen in the last 90 s)")
    live.add_metric([], len(workers.live_workers()))
    yield live
    done = CounterMetricFamily(
        "tagmyphotos_worker_analysis_photos", "Photos processed by analyze jobs, by worker process (host:pid)",
        labels=["worker"],
    )  # fmt: skip
    rate = GaugeMetricFamily(
        "tagmyphotos_worker_analysis_photos_per_second",
        f"Analysis throughput per worker process over its analyze jobs of the last {THROUGHPUT_WINDOW_S} s",
        labels=["worker"],
    )
    for w in workers.analysis_by_worker(THROUGHPUT_WINDOW_S):
        done.add_metric([w.worker], w.photos)
        rate.add_metric([w.worker], w.per_second)
    yield done
    yield rate


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def _grouped(model: type[m.BaseModel], *columns: pw.Field) -> dict[tuple[str, ...], int]:
    """Row counts per distinct value of the columns: one GROUP BY query."""
    query = model.select(*columns, pw.fn.COUNT(model._meta.primary_key)).group_by(*columns)
    rows: Iterable[tuple[Any, ...]] = query.tuples()  # type: ignore[assignment]
    return {tuple(str(v) for v in row[:-1]): int(row[-1]) for row in rows}


def _count_by(model: type[m.BaseModel], column: pw.Field) -> dict[str, int]:
    return {key[0]: n for key, n in _grouped(model, column).items()}


def _gauge_by(name: str, doc: str, label: str, counts: dict[str, int], known: tuple[str, ...]) -> Metric:
    g = GaugeMetricFamily(name, doc, labels=[label])
    for key in (*known, *sorted(set(counts) - set(known))):  # states found but not (yet) known too
        g.add_metric([key], counts.get(key, 0))
    return g


class _Both:
    def __init__(self, *collectors: Any) -> None:
        self.collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def render(library: LibraryCollector | None) -> bytes:
    """The text exposition of this process's instruments and (if given) the library figures."""
    return generate_latest(_Both(PROCESS_REGISTRY, *([library] if library else [])))  # type: ignore[arg-type]


def start_process_exporter(port: int, addr: str = "0.0.0.0") -> None:
    """Serve this process's instruments (not the library figures: the web process has those)
    on their own port, for `tagmyphotos worker` processes in scale-out."""
    start_http_server(port, addr=addr, registry=PROCESS_REGISTRY)
