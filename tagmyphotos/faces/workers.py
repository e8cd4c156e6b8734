"""Run FaceAnalyzer over many photos on N workers, models loaded once per worker.

Processes are the default: dlib's ResNet descriptor (over half of the CPU per photo) holds the
GIL, so two threads ran it no faster than one (0.7x, HOG 1.3x; measured on the shared 2-core
box), while processes are independent. Threads stay available (one interpreter: ~150 MB less).
Workers are started with `spawn` (no forked copies of the caller's threads or locks), so the
caller's __main__ must be import-safe.

Why this module owns the pool, shared and counted: two analyses may run at once in one process
(two analyze jobs on the two queue threads, a teach beside a scan's analysis). Each used to
close "its" pool when it finished, under the other ("cannot schedule new futures after
shutdown"), and with one worker both called the same dlib models from two threads (a
segfault). Now every user takes a `lease`; the pool for those settings is made by the first
and ended by the last (~160 MB per worker process is not kept while idle), and analysis in
the caller's own process (one worker) runs one photo at a time, whoever asks.
A worker that dies (a native crash on a hostile file, the OOM killer) breaks the pool: it is
replaced once for every user, and the photos in flight are retried one by one on a private
pool so that only the culprit gets the error.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tagmyphotos.faces.analyze import AnalysisSettings, BatchItem, FaceAnalyzer
from tagmyphotos.faces.images import reuse_freed_blocks

# Analysis workers keep at most this many photos in flight per worker (bounds memory).
ANALYSIS_PREFETCH_PER_WORKER = 2

KINDS = ("process", "thread")

_worker: FaceAnalyzer | None = None
_local = threading.local()
# dlib's models are not thread-safe: analysis in this process is one photo at a time.
_inline = threading.Lock()
_pools_lock = threading.Lock()


def _init_process(settings: AnalysisSettings) -> None:
    global _worker
    import cv2

    cv2.setNumThreads(1)  # one worker per core already: OpenCV's own threads would only contend
    _worker = FaceAnalyzer(settings)
    _worker.load()  # the models now, not on the first photo
    # Then keep freed buffers: this process decodes photo after photo (not the server's
    # threads); after the models, so that their build-time copies went back to the system.
    reuse_freed_blocks()


def _run_in_process(path: str) -> BatchItem:
    assert _worker is not None
    return _worker.try_analyze(path)


def _run_in_thread(settings: AnalysisSettings, path: str) -> BatchItem:
    analyzer = getattr(_local, "analyzer", None)
    if analyzer is None:
        analyzer = _local.analyzer = FaceAnalyzer(settings)
    result: BatchItem = analyzer.try_analyze(path)
    return result


def _executor(settings: AnalysisSettings, workers: int, kind: str) -> Executor:
    if kind == "thread":
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="faces")
    if kind == "process":
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_process,
            initargs=(settings,),
        )
    raise ValueError(f"executor must be 'process' or 'thread', not {kind!r}")


@dataclass(eq=False)
class SharedPool:
    """One executor for one (settings, workers, kind), and how many leases hold it."""

    settings: AnalysisSettings
    workers: int
    kind: str
    executor: Executor
    users: int = 0

    def submit(self, path: str) -> Future[BatchItem]:
        if self.kind == "thread":
            return self.executor.submit(_run_in_thread, self.settings, path)
        return self.executor.submit(_run_in_process, path)

    def replace_broken(self, broken: Executor) -> None:
        """After a worker died: a fresh executor, made once however many users saw it break."""
        with _pools_lock:
            if self.executor is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self.executor = _executor(self.settings, self.workers, self.kind)


_pools: dict[tuple[AnalysisSettings, int, str], SharedPool] = {}


@dataclass
class Lease:
    """A user's hold on the process's analysis pool (or on in-process analysis)."""

    analyzer: FaceAnalyzer
    pool: SharedPool | None  # None: one worker, analysed here

    def analyze_many(self, paths: Iterable[Path | str]) -> Iterator[BatchItem]:
        """Yield one BatchItem per path, in completion order; never raises for a photo."""
        if self.pool is None:
            for p in paths:
                with _inline:
                    item = self.analyzer.try_analyze(p)
                yield item
            return
        yield from _run_batch(self.pool, paths)


@contextmanager
def lease(analyzer: FaceAnalyzer, workers: int | None = None, executor: str | None = None) -> Iterator[Lease]:
    """Hold the pool for these settings while the block runs (made by the first user)."""
    n = analyzer.settings.workers if workers is None else workers
    kind = executor or analyzer.settings.executor
    if kind not in KINDS:
        raise ValueError(f"executor must be 'process' or 'thread', not {kind!r}")
    if n <= 1:
        yield Lease(analyzer, None)
        return
    key = (analyzer.settings, n, kind)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = SharedPool(analyzer.settings, n, kind, _executor(analyzer.settings, n, kind))
        pool.users += 1
    try:
        yield Lease(analyzer, pool)
    finally:
        with _pools_lock:
            pool.users -= 1
            last = pool.users == 0
            if last:
                _pools.pop(key, None)
        if last:
            pool.executor.shutdown(wait=True, cancel_futures=True)


def analyze_many(
    analyzer: FaceAnalyzer, paths: Iterable[Path | str], workers: int | None = None, executor: str | None = None
) -> Iterator[BatchItem]:
    """One batch under its own lease (a caller with many batches holds one `lease` instead)."""
    with lease(analyzer, workers, executor) as held:
        yield from held.analyze_many(paths)


def active_pools() -> int:
    """Pools alive in this process (0 when no analysis runs)."""
    with _pools_lock:
        return len(_pools)


def _run_batch(pool: SharedPool, paths: Iterable[Path | str]) -> Iterator[BatchItem]:
    """Bounded in-flight window so memory stays flat however many paths are given."""
    window = pool.workers * ANALYSIS_PREFETCH_PER_WORKER
    todo = iter(str(p) for p in paths)
    inflight: dict[Future[BatchItem], tuple[str, Executor]] = {}
    while True:
        while len(inflight) < window:
            path = next(todo, None)
            if path is None:
                break
            executor = pool.executor
            try:
                inflight[pool.submit(path)] = (path, executor)
            except BrokenProcessPool:  # broken under another user: replaced, then this path again
                pool.replace_broken(executor)
                inflight[pool.submit(path)] = (path, pool.executor)
        if not inflight:
            break
        done, _ = wait(inflight, return_when=FIRST_COMPLETED)
        suspects = []
        for fut in done:
            path, executor = inflight.pop(fut)
            try:
                yield fut.result()
            except BrokenProcessPool:
                suspects.append(path)
                pool.replace_broken(executor)
        if suspects:
            suspects.extend(path for path, _ in inflight.values())
            for _, executor in inflight.values():
                pool.replace_broken(executor)
            inflight.clear()
            yield from _retry_alone(pool, suspects)


def _retry_alone(pool: SharedPool, paths: list[str]) -> Iterator[BatchItem]:
    """Photos that were in flight when a worker died: one at a time on a private pool, to
    find the culprit without breaking the shared one again."""
    alone = SharedPool(pool.settings, 1, pool.kind, _executor(pool.settings, 1, pool.kind))
    try:
        for path in paths:
            try:
                yield alone.submit(path).result()
            except BrokenProcessPool:
                yield BatchItem(path, None, "the analysis worker crashed on this photo (native crash or out of memory)")
                alone.executor.shutdown(wait=True, cancel_futures=True)
                alone.executor = _executor(pool.settings, 1, pool.kind)
    finally:
        alone.executor.shutdown(wait=True, cancel_futures=True)
