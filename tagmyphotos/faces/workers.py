"""Run FaceAnalyzer over many photos on N workers, models loaded once per worker.

Processes are the default: dlib's ResNet descriptor (over half of the CPU per photo) holds the
GIL, so two threads ran it no faster than one (0.7x, HOG 1.3x; measured on the shared 2-core
box), while processes are independent. Threads stay available (one interpreter: ~150 MB less).
Workers are started with `spawn` (no forked copies of the caller's threads or locks), so the
caller's __main__ must be import-safe; they live as long as the analyzer (close() ends them).
A worker that dies (a native crash on a hostile file, the OOM killer) breaks the pool: the
photos in flight are retried one by one on a fresh pool so that only the culprit gets the error.
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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tagmyphotos import tuning

if TYPE_CHECKING:
    from tagmyphotos.faces.analyze import AnalysisSettings, BatchItem, FaceAnalyzer

_worker: FaceAnalyzer | None = None
_local = threading.local()


def _init_process(settings: AnalysisSettings) -> None:
    global _worker
    import cv2

    cv2.setNumThreads(1)  # one worker per core already: OpenCV's own threads would only contend
    from tagmyphotos.faces.analyze import FaceAnalyzer

    _worker = FaceAnalyzer(settings)
    _worker.load()  # the models now, not on the first photo


def _run_in_process(path: str) -> BatchItem:
    assert _worker is not None
    return _worker.try_analyze(path)


def _run_in_thread(settings: AnalysisSettings, path: str) -> BatchItem:
    analyzer = getattr(_local, "analyzer", None)
    if analyzer is None:
        from tagmyphotos.faces.analyze import FaceAnalyzer

        analyzer = _local.analyzer = FaceAnalyzer(settings)
    result: BatchItem = analyzer.try_analyze(path)
    return result


@dataclass
class _Pool:
    executor: Executor
    kind: str
    workers: int


def _pool(analyzer: FaceAnalyzer, workers: int, kind: str) -> _Pool:
    pool = analyzer._pool
    if isinstance(pool, _Pool) and pool.kind == kind and pool.workers == workers:
        return pool
    shutdown(analyzer)
    executor: Executor
    if kind == "thread":
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="faces")
    elif kind == "process":
        executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_process,
            initargs=(analyzer.settings,),
        )
    else:
        raise ValueError(f"executor must be 'process' or 'thread', not {kind!r}")
    analyzer._pool = new = _Pool(executor, kind, workers)
    return new


def shutdown(analyzer: FaceAnalyzer) -> None:
    pool = analyzer._pool
    if isinstance(pool, _Pool):
        pool.executor.shutdown(wait=True, cancel_futures=True)
    analyzer._pool = None


def _submit(pool: _Pool, settings: AnalysisSettings, path: str) -> Future[BatchItem]:
    if pool.kind == "thread":
        return pool.executor.submit(_run_in_thread, settings, path)
    return pool.executor.submit(_run_in_process, path)


def run_batch(analyzer: FaceAnalyzer, paths: Iterable[Path | str], workers: int, kind: str) -> Iterator[BatchItem]:
    """Bounded in-flight window so memory stays flat however many paths are given."""

    window = workers * tuning.ANALYSIS_PREFETCH_PER_WORKER
    todo = iter(str(p) for p in paths)
    inflight: dict[Future[BatchItem], str] = {}
    suspects: list[str] = []
    pool = _pool(analyzer, workers, kind)
    while True:
        while len(inflight) < window:
            path = next(todo, None)
            if path is None:
                break
            inflight[_submit(pool, analyzer.settings, path)] = path
        if not inflight:
            break
        done, _ = wait(inflight, return_when=FIRST_COMPLETED)
        broken = False
        for fut in done:
            path = inflight.pop(fut)
            try:
                yield fut.result()
            except BrokenProcessPool:
                broken = True
                suspects.append(path)
        if broken:
            suspects.extend(inflight.values())
            inflight.clear()
            shutdown(analyzer)
            yield from _retry_alone(analyzer, suspects, kind)
            suspects.clear()
            pool = _pool(analyzer, workers, kind)


def _retry_alone(analyzer: FaceAnalyzer, paths: list[str], kind: str) -> Iterator[BatchItem]:
    """Photos that were in flight when a worker died: one at a time, to find the culprit."""
    from tagmyphotos.faces.analyze import BatchItem

    for path in paths:
        pool = _pool(analyzer, 1, kind)
        try:
            yield _submit(pool, analyzer.settings, path).result()
        except BrokenProcessPool:
            shutdown(analyzer)
            yield BatchItem(path, None, "the analysis worker crashed on this photo (native crash or out of memory)")
    shutdown(analyzer)
