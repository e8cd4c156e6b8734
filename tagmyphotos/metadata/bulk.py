"""A bulk write over several writers at once ("lanes"), each with its own exiftool.

Why: a verified write costs ~10 ms of exiftool and ~3 ms of Python. One writer's pipeline
(`MetadataWriter.write_many`) keeps about one core busy; a NAS has two or more, and a first
bulk write can be 100k photos. Each lane is one thread running `write_many` with its own
persistent exiftool, so every photo still goes through the whole read, back up, write, verify
sequence. Photos that could touch the same file (photo.jpg and photo.cr2 share photo.xmp) go
to the same lane, so no two lanes ever write one file.

The caller's thread pulls the items and receives the outcomes (in the order they finish), so
database work stays in one thread; lanes only touch files.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import zlib
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path
from typing import Any

from tagmyphotos.metadata.exiftool import ExifToolError
from tagmyphotos.metadata.write import MetadataWriter, Outcome, WriteItem

# Items handed to a lane ahead of its outcomes: at least 3 (write_many holds the photo being
# written, the next and the one after), few enough that a stop leaves little read for nothing.
LANE_BACKLOG = 4

_END = object()  # no more items for a lane


def lane_key(photo: Path) -> str:
    """Equal for photos whose sidecars could coincide: the folder and the name up to its first
    dot (photo.jpg, photo.cr2, photo.jpg.xmp and photo.xmp all give .../photo)."""
    p = Path(os.path.abspath(photo))
    return str(p.parent / p.name.split(".", 1)[0]).casefold()


def lane_of(photo: Path, lanes: int) -> int:
    return zlib.crc32(lane_key(photo).encode("utf-8", "surrogateescape")) % lanes


def write_in_lanes(
    writers: Sequence[MetadataWriter],
    items: Iterable[WriteItem],
    dry_run: bool = False,
    stop: threading.Event | None = None,
) -> Generator[tuple[WriteItem, Outcome], None, None]:
    """Write `items` with one lane per writer; yields (item, outcome) as each photo is done.

    Setting `stop` (e.g. on cancel) writes no further photo; the photos already under way are
    finished and still yielded. A lane's crash stops the others the same way and is raised
    after their last outcome. One writer: exactly `write_many`, in order."""
    stop = stop or threading.Event()
    if len(writers) == 1:
        yield from writers[0].write_many(items, dry_run, stop.is_set)
        return
    for w in writers:
        # Started here, not in the lane: pyexiftool ties exiftool to the thread that starts it
        # (PR_SET_PDEATHSIG), and a lane thread ends with each call. A failure to start is
        # reported per photo by the lane.
        with contextlib.suppress(ExifToolError):
            w.session.start()
    inboxes: list[queue.SimpleQueue[Any]] = [queue.SimpleQueue() for _ in writers]
    results: queue.SimpleQueue[Any] = queue.SimpleQueue()
    threads = [
        threading.Thread(target=_lane, args=(k, w, inboxes[k], results, dry_run, stop), name=f"write-lane-{k}")
        for k, w in enumerate(writers)
    ]
    for t in threads:
        t.start()
    source = iter(items)
    held: WriteItem | None = None
    backlog = [0] * len(writers)
    running, feeding = len(threads), True
    failure: BaseException | None = None  # raised once every lane has ended
    try:
        while running:
            while feeding and not stop.is_set():  # feed each lane up to its backlog
                try:
                    held = held or next(source, None)
                except Exception as exc:  # the caller's items failed: finish what runs, then raise
                    failure, held = exc, None
                    stop.set()
                    break
                if held is None:
                    break
                k = lane_of(held.photo, len(writers))
                if backlog[k] >= LANE_BACKLOG:
                    break  # that lane has enough; wait for one of its outcomes
                inboxes[k].put(held)
                backlog[k] += 1
                held = None
            if feeding and (held is None or stop.is_set()):  # all fed, or stopped: lanes end
                feeding = False
                for inbox in inboxes:
                    inbox.put(_END)
            got = results.get()
            if got is _END:
                running -= 1
            elif isinstance(got, BaseException):
                failure = failure or got
                stop.set()  # the other lanes stop too; the photos they finish are still yielded
            else:
                k, pair = got
                backlog[k] -= 1
                yield pair
        if failure is not None:
            raise failure
    finally:
        stop.set()  # the caller closed us early: the lanes stop (their outcomes are dropped)
        for inbox in inboxes:
            inbox.put(_END)
        for t in threads:
            t.join()


def _lane(
    k: int,
    writer: MetadataWriter,
    inbox: queue.SimpleQueue[Any],
    results: queue.SimpleQueue[Any],
    dry_run: bool,
    stop: threading.Event,
) -> None:
    def feed() -> Generator[WriteItem, None, None]:
        while (item := inbox.get()) is not _END:
            yield item

    try:
        for pair in writer.write_many(feed(), dry_run, stop.is_set):
            results.put((k, pair))
    except BaseException as exc:  # handed to the caller's thread, which raises it
        results.put(exc)
    finally:
        results.put(_END)
