"""Does AstDB's once-a-second commit set the service's post-dial-delay tail?

    .venv/bin/python bench/astdb_commits.py [--rate 100] [--seconds 4] [--rounds 4]
                                            [--variant normal] [--db-probes] [--keep]

Asterisk (``main/db.c``) keeps one AstDB transaction open and its sync thread commits
it at most once a second while holding the mutex that every ``DB()`` read and write of
the dialplan takes; the service path writes ``safenum/last`` and ``safenum/cdr`` on
every call, so under load there is a commit every second. This measures whether calls
wait for it, two ways at once:

- mechanism: ``perf record`` traces the Asterisks' ``fdatasync``/``fsync`` system
  calls (CLOCK_MONOTONIC, converted to wall-clock) during the steps and, with
  ``--db-probes``, every ``ast_db_get``/``ast_db_put``/``ast_db_exists`` (what ``DB()``
  and ``DB_EXISTS()`` call: lock wait + query) and every ``sqlite3_exec`` (the sync
  thread's ``COMMIT`` and ``BEGIN``, run holding that lock) through uprobes, removed
  again at the end. Per step it prints how long the DB calls took, how many took
  over 1 ms and how many of those overlapped a ``COMMIT``, and the DB time per call
  (summed per channel thread), beside the step's post-dial delay (``bench/calls.py``);
- experiment: two private Asterisks from the shipped configs on free ports, the same
  routes, steps alternating between them round by round: ``full`` as shipped (WAL,
  ``synchronous=FULL``: one fdatasync per commit) and the variant, either ``normal``
  (the AstDB connection switched to ``synchronous=NORMAL`` by :func:`relax_sync`:
  a commit writes the log and syncs nothing) or ``full`` again (an A/A run, to see
  the spread between two equal instances).

Each round also places the static route (``bench``) and the static route with the
whisper (``bench-whisper``) on the ``full`` instance, the baselines of
``bench/calls.py``. Failed calls are counted as there; with ``--keep`` the SIPp logs and
error files stay in the work directory. The load average and how busy the machine's
cores were are printed with every step (the 2-core machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.calls import (
    Ports,
    Rig,
    Step,
    clear_routes,
    load_by_reconcile,
    make_routes,
    settle,
    start_asterisk,
    tear_down,
)
from proxy.asterisk.install import AsteriskInstall
from proxy.asterisk.process import AsteriskSupervisor

SYNCS = ("fdatasync", "fsync")
DB_CALLS = ("ast_db_get", "ast_db_put", "ast_db_exists")  # what DB(), DB_EXISTS() call
EXEC = "sqlite3_exec"  # main/db.c runs BEGIN and COMMIT (and nothing else here) through it
PERF_LINE = re.compile(r"^\s*(\d+)/(\d+)\s+([\d.]+):\s+(\w+):(\w+):")


@dataclass(frozen=True)
class Span:
    pid: int
    tid: int
    what: str  # a system call, an ast_db_* function or sqlite3_exec
    start: float  # wall clock, s
    end: float

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


SYNC_LEVELS = {"0": "OFF", "1": "NORMAL", "2": "FULL", "3": "EXTRA"}


def sync_level(cli: Callable[[str], str]) -> str:
    """AstDB's connection's ``synchronous`` setting, read over the CLI (``FULL`` etc.)."""
    for line in cli('database query "PRAGMA synchronous"').splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "synchronous":
            return SYNC_LEVELS.get(value.strip(), value.strip())
    raise ValueError("no 'synchronous' row in the 'database query' output")


def relax_sync(cli: Callable[[str], str]) -> str:
    """Switch a running Asterisk's AstDB connection to ``synchronous=NORMAL``.

    SQLite refuses the pragma inside a transaction and AstDB always has one open (its
    sync thread commits and begins the next under the lock), so the statement ends it,
    sets the pragma and begins the next. Returns the level read back. Bench only: the
    shipped AstDB stays ``FULL`` (docs/benchmarks.md, issue 15).
    """
    cli('database query "COMMIT; PRAGMA synchronous=NORMAL; BEGIN"')
    return sync_level(cli)


def add_probes(binary: str) -> list[str]:
    """Uprobes on the AstDB calls and on sqlite3_exec; returns the probe groups to delete."""
    lib = next(
        line.split()[2]
        for line in subprocess.run(
            ["ldd", binary], capture_output=True, text=True
        ).stdout.splitlines()
        if "libsqlite3" in line
    )
    for target, funcs in ((binary, DB_CALLS), (lib, (EXEC,))):
        for func in funcs:
            for probe in (func, f"{func}%return"):
                subprocess.run(["perf", "probe", "-q", "-x", target, "--add", probe], check=True)
    return ["probe_asterisk:*", "probe_libsqlite3:*"]


def delete_probes(groups: list[str]) -> None:
    for group in groups:
        subprocess.run(["perf", "probe", "-q", "-d", group], check=False)


def start_perf(pids: list[int], out: Path, probes: bool) -> subprocess.Popen[bytes]:
    events = [f"syscalls:sys_{edge}_{name}" for name in SYNCS for edge in ("enter", "exit")]
    if probes:
        events += ["probe_asterisk:*", "probe_libsqlite3:*"]
    argv = ["perf", "record", "-q", "-k", "mono", "-e", ",".join(events)]
    argv += ["-p", ",".join(map(str, pids)), "-o", str(out)]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def stop_perf(proc: subprocess.Popen[bytes], out: Path) -> list[Span]:
    """Stop ``perf record`` and pair its enter/exit events into spans (wall clock)."""
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    offset = time.time() - time.monotonic()  # perf's "mono" is CLOCK_MONOTONIC
    text = subprocess.run(
        ["perf", "script", "-i", str(out), "-F", "pid,tid,time,event"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    open_: dict[tuple[int, str], list[float]] = defaultdict(list)  # (tid, what) -> starts
    spans = []
    for line in text.splitlines():
        m = PERF_LINE.match(line)
        if m is None:
            continue
        pid, tid, at, group, event = int(m[1]), int(m[2]), float(m[3]) + offset, m[4], m[5]
        if group == "syscalls":
            edge, _, what = event.removeprefix("sys_").partition("_")
            entering = edge == "enter"
        else:
            what = event.removesuffix("__return")
            entering = not event.endswith("__return")
        if entering:
            open_[(tid, what)].append(at)
        elif open_[(tid, what)]:
            spans.append(Span(pid, tid, what, open_[(tid, what)].pop(), at))
    return spans


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def describe(name: str, step: Step, load: str, spans: list[Span]) -> str:
    """One line: the step's PDD, its Asterisk's syncs, and how long its DB() calls took."""
    start, end = min(step.sent_at, default=0.0), max(step.sent_at, default=0.0) + 5
    mine = [s for s in spans if start <= s.start <= end]
    syncs = [s.ms for s in mine if s.what in SYNCS]
    execs = [s for s in mine if s.what == EXEC]
    db = [s for s in mine if s.what in DB_CALLS]
    slow = [s for s in db if s.ms > 1.0]
    slow_in_commit = sum(1 for s in slow if any(e.start < s.end and e.end > s.start for e in execs))
    per_thread: dict[int, float] = defaultdict(float)
    for s in db:
        per_thread[s.tid] += s.ms
    return (
        f"{name:>6} {step.path:>8} load {load}: failed {step.failed}/{step.calls}, "
        f"PDD p50 {step.pdd(50):.2f} p99 {step.pdd(99):.2f} max {max(step.pdd_ms, default=0):.2f}"
        f" | {len(syncs)} syncs, median {pct(syncs, 50):.2f} max {max(syncs, default=0):.2f}"
        f" | {len(execs)} BEGIN/COMMIT, max {max((e.ms for e in execs), default=0):.2f}"
        f" | {len(db)} DB calls, p99 {pct([s.ms for s in db], 99):.3f}"
        f" max {max((s.ms for s in db), default=0):.2f}, {len(slow)} > 1 ms"
        f" ({slow_in_commit} during a COMMIT)"
        f" | DB time per call p99 {pct(list(per_thread.values()), 99):.2f}"
        f" max {max(per_thread.values(), default=0):.2f}"
        f" | CPU {step.cpu_ms:.2f} ms/call"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rate", type=int, default=100, help="calls/s")
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each step")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--routes", type=int, default=1000)
    ap.add_argument("--variant", choices=("normal", "full"), default="normal")
    ap.add_argument(
        "--db-probes",
        action="store_true",
        help="also time every ast_db_get/put/exists and sqlite3_exec (uprobes, needs root)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    # What bench/calls.py's Rig reads from its arguments.
    ap.add_argument("--hold-ms", type=int, default=500)
    ap.add_argument("--baseline-hold-ms", type=int, default=None)
    ap.add_argument("--recv-timeout-ms", type=int, default=8000)
    args = ap.parse_args()
    if shutil.which("perf") is None or shutil.which("sipp") is None:
        sys.exit("bench/astdb_commits.py needs perf and sipp on PATH")

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    workdir = Path(tempfile.mkdtemp(prefix="safenum-astdb-commits-"))
    print(f"work dir {workdir}, load {Path('/proc/loadavg').read_text().strip()}", flush=True)
    pbxs: dict[str, tuple[AsteriskSupervisor, Rig]] = {}
    perf: subprocess.Popen[bytes] | None = None
    probes: list[str] = []
    routes = make_routes(args.routes)
    numbers = [n for n, _ in routes]
    try:
        for name in ("full", args.variant if args.variant != "full" else "full2"):
            base = workdir / name
            ports = Ports.free()
            supervisor = start_asterisk(base, ports)
            pid = supervisor.pid()
            assert pid is not None
            asyncio.run(clear_routes(supervisor.config))
            asyncio.run(load_by_reconcile(supervisor.config, routes))
            level = relax_sync(supervisor.cli) if name == "normal" else sync_level(supervisor.cli)
            print(f"{name}: pid {pid}, AstDB synchronous={level}", flush=True)
            pbxs[name] = (supervisor, Rig(base, ports, args, pid))
        if args.db_probes:
            probes = add_probes(str(AsteriskInstall.locate().binary))
        trace = workdir / "astdb.perf"
        perf = start_perf([s.pid() or 0 for s, _ in pbxs.values()], trace, args.db_probes)
        time.sleep(1.0)  # perf attaches asynchronously; a bench tool, not a test
        done: list[tuple[str, Step, int, str]] = []
        names = list(pbxs)
        for r in range(args.rounds):
            order = names if r % 2 == 0 else names[::-1]
            plan = [(n, "service") for n in order] + [("full", "whisper"), ("full", "baseline")]
            for name, path in plan:
                supervisor, rig = pbxs[name]
                settle(supervisor)
                busy, total = cpu_times()
                step = rig.step(path, args.rate, numbers)
                busy, total = (a - b for a, b in zip(cpu_times(), (busy, total), strict=True))
                load = Path("/proc/loadavg").read_text().split()[0]
                load = f"{load}, cores {100 * busy / total:.0f}% busy"
                done.append((name, step, supervisor.pid() or 0, load))
                print(f"  round {r} {name} {path}: failed {step.failed}", flush=True)
        spans = stop_perf(perf, trace)
        perf = None
        by_pid: dict[int, list[Span]] = defaultdict(list)
        for span in spans:
            by_pid[span.pid].append(span)
        print()
        for name, step, pid, load in done:
            print(describe(name, step, load, by_pid[pid]))
        print()
        for name, path in [(n, "service") for n in names] + [
            ("full", "whisper"),
            ("full", "baseline"),
        ]:
            steps = [s for n, s, _, _ in done if n == name and s.path == path]
            pdd = [p for s in steps for p in s.pdd_ms]
            print(
                f"{name:>6} {path:>8}, all rounds: {sum(s.calls for s in steps)} calls, "
                f"{sum(s.failed for s in steps)} failed, "
                f"PDD p50 {pct(pdd, 50):.2f} p99 {pct(pdd, 99):.2f} ms, "
                f"CPU {statistics.median(s.cpu_ms for s in steps):.2f} ms/call (median step)"
            )
    finally:
        if perf is not None:
            perf.kill()
            perf.wait()
        delete_probes(probes)
        tear_down(pbxs.values(), workdir, args.keep)


if __name__ == "__main__":
    main()
