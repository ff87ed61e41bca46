"""Post-dial delay and call rate through the real Asterisk: the service vs a static route.

    .venv/bin/python bench/calls.py [--rates 25,50,100,150,200,250] [--seconds 6]
                                    [--routes 1000,1000000] [--whisper-baseline]
                                    [--warmup 0] [--keep]

Starts one private Asterisk on free ports with the shipped configs (menu off, as
``SAFENUM_CALL_MENU=false`` does, so a call goes straight to Dial) plus the bench-only
static route ``bench`` -> one driver (``AsteriskConfig.bench_route``), then for each
route-table size loads the routes into AstDB and, for each rate, drives two SIPp steps
in the same Asterisk, order alternating per rate:

- service: the caller dials a 050 number picked at random from the loaded routes
  (``[safenum-route]``: caller reference, privacy, DB lookups, ``safenum/last`` and the
  ``safenum/cdr`` hang-up summary, Dial with the whisper);
- baseline: the caller dials ``bench`` (one line: ``Dial(PJSIP/<driver>@trunk)``);
- whisper (with ``--whisper-baseline``): the caller dials ``bench-whisper``, the same
  line playing the driver the same whisper (``Dial`` option ``A``): what the service
  costs beyond the static route once both play the whisper.

A SIPp UAC on the trunk's address places ``rate * seconds`` calls at ``rate`` calls/s
(200 OK, ACK, ``--hold-ms`` hold, BYE); a SIPp UAS on the trunk port plays the drivers'
phones (180, 200 at once, takes the BYE).

Post-dial delay (PDD) = the wall-clock time at which the INVITE reaches the UAS minus
the time at which the UAC is about to send it. Both SIPps stamp it with
``<gettimeofday>`` into their ``-trace_logs`` file (same host, same clock, microseconds),
and the two lines are paired by a key the INVITE carries through Asterisk: the driver
sees the 050 number in From on the service path (the dialplan sets it) and the
caller's number on the static paths (a plain Dial keeps it); every caller number is
unique in a run (a 050 number dialled twice in a step pairs first-in, first-out). A call
failed unless the UAC logged its end (BYE answered) and its INVITE reached the driver:
error responses, timeouts (``--recv-timeout-ms``) and retransmission give-ups all
count, and so does a service call whose Dial failed (the dialplan then answers the
caller with the text offer, so the caller's SIPp sees a completed call). A rate is held when
< 0.1 % of its calls failed and SIPp placed them at >= 90 % of the rate; the held rate
of a path is the highest rate of the sweep held with every lower rate held too. Because
a call that waits seconds for its INVITE still completes, a second criterion also asks
for PDD p99 <= ``--pdd-limit-ms``: it shows where the PBX saturates, before calls fail.
The sweep stops after a rate that no path held. Each step starts once Asterisk holds no
channel (``core show channels count``), so an overloaded step's leftovers do not
weigh on the next one.

CPU per call: the Asterisk process's user + system CPU time over the step (from
``/proc/<pid>/stat``) divided by the step's calls. On a machine shared with other
work it is steadier than PDD, which the other work's scheduling delays dominate.

Route loads: up to 10^4 routes go through the production path
(``RouteReplica.reconcile`` over one AMI link). Larger tables go through the fastest way
found that keeps Asterisk online and uses only documented interfaces:
``AmiClient.db_put_many``, ``DBPut`` pipelined on one link (``bench/routes.py`` measures
it at ~1.1x the raw-socket floor, i.e. Asterisk's own cost), then counted with the CLI's
``database query`` and spot-checked with ``DBGet``. Writing ``astdb.sqlite3`` while
Asterisk is stopped would skip AMI but depends on AstDB's internal table layout, which
Asterisk does not document, so it is not used.

With ``--warmup N`` every path first places N unmeasured calls at 10 calls/s, all paths
alike, so the first step of the sweep does not carry the Asterisk's first calls.

Ratios are service / baseline from the same run. Every Asterisk and SIPp started here
is stopped on exit (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proxy.ami import AmiClient, AmiSettings
from proxy.asterisk.config import AsteriskConfig, write_config, write_prompts
from proxy.asterisk.install import AsteriskInstall, AsteriskNotInstalled
from proxy.asterisk.process import AsteriskSupervisor, wait_until
from proxy.replica import ROUTE_FAMILY, RouteReplica
from tests.pbx.pbx_sipp import free_port, udp_port_bound

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
BENCH_DRIVER = "01055550000"  # fictitious; the static route's target
HELD_FAILED = 0.001
HELD_PACE = 0.9
DIALLED = {"baseline": "bench", "whisper": "bench-whisper"}  # static paths; else a number
PATHS = ("baseline", "whisper", "service")
RTP_PORTS = (21000, 28999)


@dataclass(frozen=True)
class Step:
    routes: int
    rate: int
    path: str  # "service" | "baseline"
    calls: int
    failed: int
    unmatched: int
    placed_cps: float
    pdd_ms: tuple[float, ...]
    cpu_ms: float = float("nan")  # Asterisk's CPU time per call during the step
    sent_at: tuple[float, ...] = ()  # wall-clock INVITE send time of each pdd_ms sample
    unended: int = 0  # failed calls the caller's SIPp did not complete (timeout, abort)

    @property
    def failed_ratio(self) -> float:
        return self.failed / self.calls if self.calls else 1.0

    @property
    def held(self) -> bool:
        return self.failed_ratio < HELD_FAILED and self.placed_cps >= HELD_PACE * self.rate

    def pdd(self, q: float) -> float:
        """Nearest-rank percentile of the post-dial delay, in ms (NaN without samples)."""
        if not self.pdd_ms:
            return float("nan")
        ordered = sorted(self.pdd_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


# -- routes ----------------------------------------------------------------------


def make_routes(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """``count`` distinct 050 numbers, each to a distinct fictitious +8210 driver."""
    rng = random.Random(seed)
    subs = rng.sample(range(100_000_000), count)
    return [(f"0504{s:08d}", f"+82105{i:07d}") for i, s in enumerate(subs)]


def ami_settings(config: AsteriskConfig, action_timeout: float = 30.0) -> AmiSettings:
    return AmiSettings(
        host="127.0.0.1",
        port=config.ami_port,
        username=config.ami_user,
        secret=config.ami_secret,
        action_timeout=action_timeout,
        ping_interval=60.0,
    )


async def clear_routes(config: AsteriskConfig) -> None:
    async with AmiClient(ami_settings(config)) as ami:
        await ami.wait_connected(10)
        await ami.db_deltree(ROUTE_FAMILY)


async def load_by_reconcile(config: AsteriskConfig, routes: Sequence[tuple[str, str]]) -> float:
    """The production path: the replica's reconcile over one AMI link. Returns seconds."""
    wanted = dict(routes)

    async def load() -> dict[str, str]:
        return wanted

    async with AmiClient(ami_settings(config)) as ami:
        await ami.wait_connected(10)
        started = time.perf_counter()
        report = await RouteReplica(ami, load).reconcile()
        elapsed = time.perf_counter() - started
    if report.added != len(wanted):  # the family was cleared first
        raise RuntimeError(f"reconcile did not add every route: {report}")
    return elapsed


async def load_pipelined(config: AsteriskConfig, routes: Sequence[tuple[str, str]]) -> float:
    """``AmiClient.db_put_many`` on one AMI link (the fastest documented load,
    ``bench/routes.py``). Returns seconds."""
    async with AmiClient(ami_settings(config)) as ami:
        await ami.wait_connected(10)
        started = time.perf_counter()
        count = await ami.db_put_many(ROUTE_FAMILY, routes)
        elapsed = time.perf_counter() - started
    if count != len(routes):
        raise RuntimeError(f"db_put_many wrote {count} of {len(routes)} routes")
    return elapsed


def active_channels(supervisor: AsteriskSupervisor) -> int:
    """Channels Asterisk holds now (``core show channels count``)."""
    for line in supervisor.cli("core show channels count").splitlines():
        count, _, what = line.strip().partition(" ")
        if what.startswith("active channel") and count.isdigit():
            return int(count)
    raise RuntimeError("unexpected 'core show channels count' output")


def settle(supervisor: AsteriskSupervisor, timeout: float = 30.0) -> bool:
    """Wait until the calls of the previous step are gone, so steps do not overlap."""
    return wait_until(lambda: active_channels(supervisor) == 0, timeout, interval=0.2)


def count_routes(supervisor: AsteriskSupervisor) -> int:
    out = supervisor.cli(
        "database query \"SELECT COUNT(*) AS n FROM astdb WHERE key LIKE '/safenum/route/%'\""
    )
    for line in out.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "n":
            return int(value.strip())
    raise RuntimeError(f"unexpected 'database query' output: {out[:200]!r}")


async def spot_check(
    config: AsteriskConfig, routes: Sequence[tuple[str, str]], sample: int = 200
) -> None:
    async with AmiClient(ami_settings(config)) as ami:
        await ami.wait_connected(10)
        for number, phone in random.Random(3).sample(list(routes), min(sample, len(routes))):
            got = await ami.db_get(ROUTE_FAMILY, number)
            if got != phone:
                raise RuntimeError(f"route {number}: AstDB has {got!r}, loaded {phone!r}")


# -- SIPp ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    sip: int
    trunk: int
    ami: int
    caller: int
    caller_media: int
    driver_media: int

    @classmethod
    def free(cls) -> Ports:
        udp, tcp = socket.SOCK_DGRAM, socket.SOCK_STREAM
        ports = cls(*(free_port(k) for k in (udp, udp, tcp, udp, udp, udp)))
        if any(RTP_PORTS[0] <= p <= RTP_PORTS[1] for p in astuple(ports)):
            raise RuntimeError(f"a free port fell into the RTP range {RTP_PORTS}: {ports}")
        return ports


def read_log(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [line.split() for line in path.read_text(errors="replace").splitlines() if line]


def stamp(sec: str, usec: str) -> float:
    return float(sec) + float(usec) / 1e6


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Rig:
    """The SIPp side of the run; remembers every SIPp it starts so all are stopped."""

    def __init__(self, workdir: Path, ports: Ports, args: argparse.Namespace, pbx_pid: int) -> None:
        self._workdir = workdir
        self._ports = ports
        self._args = args
        self._pbx_pid = pbx_pid
        self._callers = iter(range(10_000_000))
        self._steps = iter(range(1_000_000))  # numbers the steps' files: repeats keep theirs
        self._procs: list[subprocess.Popen[bytes]] = []

    def _start(self, argv: list[str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._procs.append(proc)
        return proc

    def _stop(self, proc: subprocess.Popen[bytes], grace: float) -> None:
        """Let ``proc`` finish within ``grace`` s, then SIGUSR1 (soft exit), then SIGKILL."""
        for sig in (None, signal.SIGUSR1, signal.SIGKILL):
            if sig is not None and proc.poll() is None:
                proc.send_signal(sig)
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        if proc.stderr is not None:
            proc.stderr.close()
        with contextlib.suppress(ValueError):
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self._procs):
            self._stop(proc, 1.0)

    def _injection(self, tag: str, path: str, calls: int, numbers: Sequence[str]) -> Path:
        """One line per call: the dialled extension and a caller number unique in the run."""
        rng = random.Random(tag)
        lines = ["SEQUENTIAL"]
        for _ in range(calls):
            dialled = DIALLED.get(path) or rng.choice(numbers)
            lines.append(f"{dialled};0119{next(self._callers):07d};")
        inf = self._workdir / f"{tag}.csv"
        inf.write_text("\n".join(lines) + "\n")
        return inf

    def step(self, path: str, rate: int, numbers: Sequence[str]) -> Step:
        """Place ``rate * --seconds`` calls at ``rate`` calls/s on ``path``; measure them."""
        args, ports = self._args, self._ports
        calls = max(1, round(rate * args.seconds))
        tag = f"{next(self._steps):03d}-{len(numbers)}-{rate}-{path}"
        inf = self._injection(tag, path, calls, numbers)
        files = {role: self._workdir / f"{tag}-{role}" for role in ("caller", "driver")}
        common = ["-i", "127.0.0.1", "-nostdin", "-trace_logs", "-trace_err"]
        uas_argv = ["sipp", "-sf", str(SCENARIOS / "bench_driver.xml"), *common]
        # No -m: SIPp counts a retransmitted INVITE of an aborted call (e.g. a BYE that
        # overtook its ACK) as one more call, so "-m calls" made the drivers' phone quit
        # early and the step's last calls fail (603 from Asterisk). It runs until stopped.
        uas_argv += ["-p", str(ports.trunk), "-mp", str(ports.driver_media)]
        uas_argv += ["-log_file", f"{files['driver']}.log", "-error_file", f"{files['driver']}.err"]
        uas = self._start(uas_argv)
        cpu_before = cpu_seconds(self._pbx_pid)
        try:
            if not wait_until(lambda: udp_port_bound("127.0.0.1", ports.trunk), 5.0):
                raise RuntimeError("driver SIPp did not bind the trunk port")
            uac_argv = ["sipp", "-sf", str(SCENARIOS / "bench_caller.xml"), *common]
            uac_argv += ["-p", str(ports.caller), "-mp", str(ports.caller_media)]
            uac_argv += ["-inf", str(inf), "-r", str(rate), "-rp", "1000", "-m", str(calls)]
            hold = args.baseline_hold_ms if path == "baseline" else args.hold_ms
            uac_argv += ["-l", str(max(50, rate * 20)), "-d", str(hold or args.hold_ms)]
            uac_argv += ["-recv_timeout", str(args.recv_timeout_ms)]
            uac_argv += ["-timeout", f"{args.seconds + 60:g}s"]
            uac_argv += ["-log_file", f"{files['caller']}.log"]
            uac_argv += ["-error_file", f"{files['caller']}.err", f"127.0.0.1:{ports.sip}"]
            self._stop(self._start(uac_argv), args.seconds + 70)
        finally:
            self._stop(uas, 3.0)
        cpu_ms = (cpu_seconds(self._pbx_pid) - cpu_before) * 1000 / calls
        step = analyse(
            len(numbers),
            rate,
            path,
            calls,
            read_log(Path(f"{files['caller']}.log")),
            read_log(Path(f"{files['driver']}.log")),
        )
        return replace(step, cpu_ms=cpu_ms)


def analyse(
    routes: int,
    rate: int,
    path: str,
    calls: int,
    caller_lines: list[list[str]],
    driver_lines: list[list[str]],
) -> Step:
    sent: dict[str, deque[tuple[float, str]]] = defaultdict(deque)  # key -> (at, caller)
    starts: list[float] = []
    ended: set[str] = set()
    for fields in caller_lines:
        if fields[0] == "I" and len(fields) == 5:
            dialled, caller, sec, usec = fields[1:]
            at = stamp(sec, usec)
            starts.append(at)
            sent[caller if dialled in DIALLED.values() else dialled].append((at, caller))
        elif fields[0] == "O" and len(fields) == 3:
            ended.add(fields[2])
    pdd: list[float] = []
    sent_at: list[float] = []
    reached: set[str] = set()
    unmatched = 0
    for fields in driver_lines:
        if fields[0] != "D" or len(fields) != 4:
            continue
        queue = sent.get(fields[1].removeprefix("sip:").removesuffix("@"))
        if not queue:
            unmatched += 1
            continue
        at, caller = queue.popleft()
        reached.add(caller)
        sent_at.append(at)
        pdd.append((stamp(fields[2], fields[3]) - at) * 1000)
    span = max(starts) - min(starts) if len(starts) > 1 else 0.0
    placed = (len(starts) - 1) / span if span > 0 else 0.0
    failed = calls - len(ended & reached)
    return Step(
        routes,
        rate,
        path,
        calls,
        failed,
        unmatched,
        placed,
        tuple(pdd),
        sent_at=tuple(sent_at),
        unended=calls - len(ended),
    )


# -- the run ---------------------------------------------------------------------


def start_asterisk(base: Path, ports: Ports) -> AsteriskSupervisor:
    config = AsteriskConfig(
        config_dir=base / "asterisk",
        sip_port=ports.sip,
        sip_bind_host="127.0.0.1",
        trunk_host="127.0.0.1",
        trunk_port=ports.trunk,
        ami_port=ports.ami,
        ami_secret="bench-secret-" + os.urandom(8).hex(),
        dial_timeout=5,
        # Below the kernel's ephemeral range (32768+ here), where free_port() picks the
        # trunk port: Asterisk must never take it for RTP while no SIPp holds it.
        rtp_port_start=RTP_PORTS[0],
        rtp_port_end=RTP_PORTS[1],
        verbose=0,
        menu=False,
        bench_route=BENCH_DRIVER,
        install=AsteriskInstall.locate(),
    )
    write_config(config)
    write_prompts(config)
    supervisor = AsteriskSupervisor(config)
    supervisor.up(timeout=60)
    return supervisor


def tear_down(pbxs: Iterable[tuple[AsteriskSupervisor, Rig]], workdir: Path, keep: bool) -> None:
    """Stop each rig's SIPps, then its Asterisk, and remove the work directory unless it is
    kept: the end of every bench that runs several Asterisks side by side."""
    for supervisor, rig in pbxs:
        rig.stop_all()
        supervisor.down()
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)


def held_rate(steps: list[Step], path: str, pdd_limit_ms: float) -> tuple[int, bool]:
    """Highest rate held with every lower rate held too; and whether the sweep topped out.

    With a finite ``pdd_limit_ms`` a step also needs its p99 post-dial delay within it.
    """
    best = 0
    ordered = sorted((s for s in steps if s.path == path), key=lambda s: s.rate)
    for step in ordered:
        if not step.held or not step.pdd(99) <= pdd_limit_ms:
            return best, False
        best = step.rate
    return best, True


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b and a == a and b == b else "n/a"


def report(steps: list[Step], loads: dict[str, float], pdd_limit_ms: float) -> str:
    out = [
        "| routes | rate (cps) | path | calls | failed | placed cps "
        "| PDD p50 ms | PDD p99 ms | p50 ratio | p99 ratio | CPU ms/call | CPU ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for routes in sorted({s.routes for s in steps}):
        mine = [s for s in steps if s.routes == routes]
        for rate in sorted({s.rate for s in mine}):
            pair = {s.path: s for s in mine if s.rate == rate}
            base = pair.get("baseline")
            for path in PATHS:
                s = pair.get(path)
                if s is None:
                    continue
                vs = base is not None and path != "baseline"
                r50 = ratio(s.pdd(50), base.pdd(50)) if base and vs else ""
                r99 = ratio(s.pdd(99), base.pdd(99)) if base and vs else ""
                rcpu = ratio(s.cpu_ms, base.cpu_ms) if base and vs else ""
                out.append(
                    f"| {routes:,} | {rate} | {path} | {s.calls} "
                    f"| {s.failed} ({s.failed_ratio:.1%}) | {s.placed_cps:.1f} "
                    f"| {s.pdd(50):.2f} | {s.pdd(99):.2f} | {r50} | {r99} "
                    f"| {s.cpu_ms:.2f} | {rcpu} |"
                )
    out += [
        "",
        "| routes | criterion | path | held cps | ratio to baseline |",
        "|---|---|---|---|---|",
    ]
    criteria = {
        "< 0.1 % failed": float("inf"),
        f"< 0.1 % failed and PDD p99 <= {pdd_limit_ms:g} ms": pdd_limit_ms,
    }
    for routes in sorted({s.routes for s in steps}):
        mine = [s for s in steps if s.routes == routes]
        for criterion, limit in criteria.items():
            (b, b_top) = held_rate(mine, "baseline", limit)
            for path in PATHS:
                if not any(s.path == path for s in mine):
                    continue
                (v, v_top) = held_rate(mine, path, limit)
                bound = {(True, False): " (upper bound)", (False, True): " (lower bound)"}
                note = bound.get((b_top, v_top), " (both topped the sweep)" if b_top else "")
                r = "" if path == "baseline" else f"{ratio(v, b)}{note}"
                out.append(
                    f"| {routes:,} | {criterion} | {path} | {'>=' if v_top else ''}{v} | {r} |"
                )
    out += ["", "| route load | seconds | routes/s |", "|---|---|---|"]
    for name, seconds in loads.items():
        count = int(name.split()[0].replace(",", ""))
        out.append(f"| {name} | {seconds:.1f} | {count / seconds:,.0f} |")
    return "\n".join(out)


def warm(
    supervisor: AsteriskSupervisor,
    workdir: Path,
    ports: Ports,
    args: argparse.Namespace,
    paths: Sequence[str],
    numbers: Sequence[str],
) -> None:
    """``--warmup`` calls on every path alike at 10 calls/s, not measured."""
    (workdir / "warm").mkdir()
    settings = argparse.Namespace(**{**vars(args), "seconds": args.warmup / 10})
    rig = Rig(workdir / "warm", ports, settings, supervisor.pid() or 0)
    try:
        for path in paths:
            step = rig.step(path, 10, numbers)
            settle(supervisor)
            print(f"  warm-up {path}: {step.calls} calls, failed {step.failed}", flush=True)
    finally:
        rig.stop_all()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rates", default="25,50,100,150,200,250", help="calls/s, rising")
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each step")
    ap.add_argument("--routes", default="1000,1000000", help="route-table sizes, in order")
    ap.add_argument("--hold-ms", type=int, default=500, help="caller's hold after the answer")
    ap.add_argument(
        "--baseline-hold-ms",
        type=int,
        default=None,
        help="baseline caller's hold (default --hold-ms); hold + whisper length (~2900) "
        "gives both paths the same call length, to see what the whisper costs",
    )
    ap.add_argument("--recv-timeout-ms", type=int, default=8000, help="a call fails after")
    ap.add_argument(
        "--pdd-limit-ms", type=float, default=500.0, help="second criterion for a held rate"
    )
    ap.add_argument(
        "--whisper-baseline",
        action="store_true",
        help="a third path per rate: the static route playing the same whisper",
    )
    ap.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="unmeasured calls on every path alike (10 calls/s) before the first sweep",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    sizes = [int(n) for n in args.routes.split(",")]
    try:
        AsteriskInstall.locate().verify()
    except AsteriskNotInstalled as exc:
        sys.exit(f"bench/calls.py needs Asterisk 22: {exc}")
    if shutil.which("sipp") is None:
        sys.exit("bench/calls.py needs sipp on PATH")

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    print(
        f"rates={rates} seconds={args.seconds:g} routes={sizes} hold_ms={args.hold_ms} "
        f"baseline_hold_ms={args.baseline_hold_ms or args.hold_ms} "
        f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="safenum-calls-"))
    rig: Rig | None = None
    supervisor: AsteriskSupervisor | None = None
    steps: list[Step] = []
    loads: dict[str, float] = {}
    try:
        ports = Ports.free()
        supervisor = start_asterisk(workdir, ports)
        config = supervisor.config
        pid = supervisor.pid()
        if pid is None:
            raise RuntimeError("asterisk is not running after start-up")
        rig = Rig(workdir, ports, args, pid)
        print(f"asterisk up (pid {pid}), work dir {workdir}", flush=True)
        for size in sizes:
            routes = make_routes(size)
            asyncio.run(clear_routes(config))
            if size <= 10_000:
                name = f"{size:,} routes, RouteReplica.reconcile (production, 1 link)"
                loads[name] = asyncio.run(load_by_reconcile(config, routes))
            else:
                name = f"{size:,} routes, DBPut pipelined (db_put_many, 1 link)"
                loads[name] = asyncio.run(load_pipelined(config, routes))
            present = count_routes(supervisor)
            if present != size:
                raise RuntimeError(f"AstDB holds {present} routes after loading {size}")
            asyncio.run(spot_check(config, routes))
            print(f"  loaded {name}: {loads[name]:.1f}s", flush=True)
            numbers = [number for number, _ in routes]
            paths = ["service", "baseline"] + (["whisper"] if args.whisper_baseline else [])
            if args.warmup and size == sizes[0]:
                warm(supervisor, workdir, ports, args, paths, numbers)
            for i, rate in enumerate(rates):
                order = paths[i % len(paths) :] + paths[: i % len(paths)]  # rotates per rate
                pair = []
                for path in order:
                    if not settle(supervisor):
                        print("  (calls of the previous step still up after 30 s)", flush=True)
                    step = rig.step(path, rate, numbers)
                    pair.append(step)
                    steps.append(step)
                    print(
                        f"  {size:>9,} routes {rate:>4} cps {path:>8}: "
                        f"failed {step.failed}/{step.calls} ({step.unended} not completed "
                        f"by the caller, the others never reached the driver) "
                        f"unpaired {step.unmatched} "
                        f"placed {step.placed_cps:.1f} cps "
                        f"PDD p50 {step.pdd(50):.2f} p99 {step.pdd(99):.2f} ms "
                        f"CPU {step.cpu_ms:.2f} ms/call load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                if not any(s.held for s in pair):
                    break  # no path held this rate: higher rates only take longer
    finally:
        if rig is not None:
            rig.stop_all()
        if supervisor is not None:
            supervisor.down()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(report(steps, loads, args.pdd_limit_ms))


if __name__ == "__main__":
    main()
