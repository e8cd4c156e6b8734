"""Benchmark: verified bulk write of people tags, as the write job does it, versus a loop that
starts one `exiftool` process per file, in the same run on copies of the same photos.

Ours is the job's bulk writer (`write_in_lanes`: write.workers lanes, default 2, each a thread
with its own persistent exiftool running the pipelined `MetadataWriter.write_many`) and does
everything a real write does: read, plan, free-space check, backup (copied, hashed, fsynced),
write, verify (re-read, image-data digest, tags) — and a second pass that must find nothing to
do. The baseline only writes the same tags (one process per file, no read, no backup, no
verification), so `speedup_vs_per_file` is a lower bound; a per-file loop that also verified
would need a second process per file (`speedup_vs_per_file_verified`, timed too). CPU time per
file is reported for both: ours spends more cores at once, not fewer cycles per file.

    scripts/bench write [--repeat N] [--block B] [--lanes L]   (N copies of the 64 photos)

Default: 4 copies (256 files), so that each lane's exiftool start-up (~0.2 s: Perl, then its
writing modules on first use) weighs as in a real bulk write rather than a quarter of the
time; `--repeat 1` shows the small-run figure. Both loops run in alternating blocks of B
files so that a change of machine load during the run hits both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tagmyphotos.config import WriteConfig
from tagmyphotos.geometry import NormBox
from tagmyphotos.metadata.backups import BackupStore
from tagmyphotos.metadata.bulk import write_in_lanes
from tagmyphotos.metadata.exiftool import ExifToolSession, default_executable
from tagmyphotos.metadata.plan import PersonRegion, WriteOptions, plan_write
from tagmyphotos.metadata.read import TagSet, read_request
from tagmyphotos.metadata.write import MetadataWriter, WriteItem, WriteResult
from tagmyphotos_lab.benchlib import FACES_DIR, emit, peak_rss_mb, print_table, timer

PEOPLE = [
    PersonRegion("Ada Lovelace", NormBox(0.30, 0.20, 0.20, 0.25)),
    PersonRegion("Alan Turing", NormBox(0.6, 0.3, 0.15, 0.2)),
]


def copy_library(dest: Path, repeat: int) -> list[Path]:
    files = []
    for r in range(repeat):
        folder = dest / f"set{r}"
        folder.mkdir(parents=True)
        for src in sorted(FACES_DIR.glob("*.jpg")):
            dst = folder / src.name
            shutil.copyfile(src, dst)
            files.append(dst)
    return files


def baseline_args(sample: Path, tmp: Path) -> list[str]:
    """The same tags for the per-file loop (regions as JSON, keyword pairs); one process each."""
    plan = plan_write(TagSet(sample), PEOPLE, [], 1, 1000, 1000, WriteOptions())
    json_file = tmp / "regions.json"
    json_file.write_text(json.dumps([{"SourceFile": "*", **plan.json_tags}]), "utf-8")
    return [default_executable(), "-q", "-overwrite_original", "-n", *plan.args, f"-j={json_file}"]


def _proc_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by a running process (Linux /proc)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(ours_files: list[Path], base_files: list[Path], tmp: Path, block: int, lanes: int) -> dict[str, float]:
    """Both loops in alternating blocks of files, so a change of machine load hits both alike."""
    out = {
        "ours_s": 0.0,
        "rerun_s": 0.0,
        "base_s": 0.0,
        "base_failed": 0.0,
        "ours_cpu_s": 0.0,
        "base_cpu_s": 0.0,
        "verify_s": 0.0,
    }
    counts: dict[str, int] = {}
    base = baseline_args(base_files[0], tmp)
    store = BackupStore(tmp / "data" / "backups", ours_files[0].parent.parent)
    # Like the write job: one writer (thread + exiftool) per lane. exiftool starts on first use,
    # inside the first block, so its start-up counts against us.
    writers = [MetadataWriter(ExifToolSession(), store) for _ in range(lanes)]

    def exiftool_cpu_s() -> float:
        return sum(_proc_cpu_s(w.session.pid) for w in writers)

    try:
        for i in range(0, len(ours_files), block):
            cpu0 = _self_cpu_s() + exiftool_cpu_s()
            with timer() as t:
                for _, r in write_in_lanes(writers, (WriteItem(f, PEOPLE) for f in ours_files[i : i + block])):
                    key = f"{r.status}/{r.mode}" if isinstance(r, WriteResult) else "failed"
                    counts[key] = counts.get(key, 0) + 1
            out["ours_s"] += t["s"]
            out["ours_cpu_s"] += _self_cpu_s() + exiftool_cpu_s() - cpu0
            cpu0 = _children_cpu_s()
            with timer() as t:
                for f in base_files[i : i + block]:
                    if subprocess.run([*base, str(f)], capture_output=True).returncode != 0:
                        out["base_failed"] += 1
            out["base_s"] += t["s"]
            out["base_cpu_s"] += _children_cpu_s() - cpu0
            with timer() as t:  # what a per-file loop would add to verify: one read per file
                for f in base_files[i : i + block]:
                    subprocess.run([base[0], *read_request(f).args, "-ImageDataHash"], capture_output=True)
            out["verify_s"] += t["s"]
        with timer() as t:
            for _, r in write_in_lanes(writers, (WriteItem(f, PEOPLE) for f in ours_files)):
                key = f"rerun {r.status}" if isinstance(r, WriteResult) else "rerun failed"
                counts[key] = counts.get(key, 0) + 1
        out["rerun_s"] = t["s"]
    finally:
        for w in writers:
            w.session.close()
    out.update({k: float(v) for k, v in counts.items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=4, help="copies of the 64 testdata photos")
    ap.add_argument("--block", type=int, default=32, help="files per alternating block")
    ap.add_argument("--lanes", type=int, default=WriteConfig().workers, help="writers at once (write.workers)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-write-") as tmp_name:
        tmp = Path(tmp_name)
        ours_files = copy_library(tmp / "lib-ours", args.repeat)
        base_files = copy_library(tmp / "lib-base", args.repeat)
        n = len(ours_files)
        started = time.perf_counter()
        res = run(ours_files, base_files, tmp, args.block, args.lanes)
        total_s = time.perf_counter() - started
    ours_s, rerun_s, base_s, base_failed = (
        res["ours_s"],
        res["rerun_s"],
        res["base_s"],
        int(res["base_failed"]),
    )
    counts = {k: int(v) for k, v in res.items() if "/" in k or k.startswith("rerun ")}
    ours_fps, base_fps, rerun_fps = n / ours_s, n / base_s, n / rerun_s
    verified_s = base_s + res["verify_s"]
    print_table(
        ["run", "files", "seconds", "files/s", "ms/file", "CPU ms/file"],
        [
            [
                f"bulk write, {args.lanes} lane(s), verified",
                n,
                ours_s,
                ours_fps,
                1000 * ours_s / n,
                1000 * res["ours_cpu_s"] / n,
            ],
            ["bulk write again (no-op)", n, rerun_s, rerun_fps, 1000 * rerun_s / n, "-"],
            [
                "one exiftool process per file (write only)",
                n,
                base_s,
                base_fps,
                1000 * base_s / n,
                1000 * res["base_cpu_s"] / n,
            ],
            ["  + one read process per file to verify", n, verified_s, n / verified_s, 1000 * verified_s / n, "-"],
        ],
    )
    print(
        "outcomes:",
        ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
        f"; baseline failures: {base_failed}",
    )
    emit(
        {
            "files": n,
            "lanes": args.lanes,
            "files_per_s": round(ours_fps, 2),
            "per_file_files_per_s": round(base_fps, 2),
            "speedup_vs_per_file": round(ours_fps / base_fps, 2),
            "ms_per_file": round(1000 * ours_s / n, 2),
            "per_file_ms_per_file": round(1000 * base_s / n, 2),
            "rerun_files_per_s": round(rerun_fps, 2),
            "per_file_verified_files_per_s": round(n / verified_s, 2),
            "speedup_vs_per_file_verified": round(ours_fps / (n / verified_s), 2),
            "cpu_ms_per_file": round(1000 * res["ours_cpu_s"] / n, 2),
            "per_file_cpu_ms_per_file": round(1000 * res["base_cpu_s"] / n, 2),
            "cpu_speedup_vs_per_file": round(res["base_cpu_s"] / max(res["ours_cpu_s"], 1e-9), 2),
            "written": sum(v for k, v in counts.items() if k.startswith("written")),
            "rerun_unchanged": counts.get("rerun unchanged", 0),
            "baseline_failures": base_failed,
            "total_s": round(total_s, 1),
            "peak_rss_mb": peak_rss_mb(),
            "load_avg_1m": round(os.getloadavg()[0], 2),  # 2-core machine: > 2 means contended CPU
        }
    )


if __name__ == "__main__":
    main()
