"""What the service's post-dial-delay tail is made of: warm-up, or the dialplan before Dial?

    .venv/bin/python bench/pdd_dialplan.py [--rate 100] [--seconds 4] [--rounds 4]
                                           [--warmup 0] [--keep]

Issue 15's PDD row (service p99 at 50-100 cps <= 1.5x the static route's). Six private
Asterisks from the shipped configs (as ``bench/calls.py`` starts them, same routes), one
per path, so that every path's first step is the first on its own Asterisk (each
prints its thread count before and after every step: pools grow on first use):

- ``shipped``: the service as rendered by ``proxy/asterisk/config.py``;
- ``onedb`` (diagnostic, not shipped): the route, text and quiet reads collapsed into one
  ``DB()`` read of ``safenum/r1/<number>`` = ``<route>|<text>|<quiet>`` (loaded beside
  the routes), split with ``CUT``: 5 AstDB lock acquisitions per call instead of 7;
- ``nolast`` (diagnostic): the ``safenum/last`` write before ``Dial`` removed: 6;
- ``lean`` (diagnostic): both: 4;
- ``awhisper`` (diagnostic): the whisper played with ``Dial``'s ``A()`` announcement, as
  the static ``whisper`` path does, instead of the ``U(safenum-whisper)`` subroutine
  (which also stamps the answer time and sends the whisper event: both lost here);
- ``nowhisper`` (diagnostic): the service with no whisper at all;
- ``static``: the bench-only static route ``bench`` (one ``Dial`` line);
- ``whisper``: ``bench-whisper``, the static route playing the driver the whisper.

Round by round (order rotated each round) every instance places one step of
``rate * seconds`` calls; SIPp and the PDD measure are ``bench/calls.py``'s. With
``--warmup N`` every instance first places N calls on its path at 10 calls/s, unmeasured
(the same for every path). Per step it prints PDD p50/p99, the p99 of the step's first
20 calls against the rest, the Asterisk's CPU ms per call and the machine's load.

``--loop N`` measures the dialplan alone instead, without SIP: one Asterisk, and per
variant a context that runs the service's lines before ``Dial`` (from the caller
reference to the quiet-hours check, the hang-up handler push left out) N times in one
Local channel, the caller's number restored at each pass; ``noop`` has as many
priorities as ``shipped``, each a ``NoOp()``; ``empty`` is the loop with nothing in it.
Rounds alternate the variants; it prints the Asterisk's CPU time per pass (user +
system) and checks every pass ran.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import socket
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.astdb_commits import cpu_times, pct
from bench.calls import (
    Ports,
    Rig,
    Step,
    ami_settings,
    clear_routes,
    cpu_seconds,
    load_by_reconcile,
    make_routes,
    settle,
    start_asterisk,
    tear_down,
    warm,
)
from proxy.ami import AmiClient
from proxy.asterisk.process import AsteriskSupervisor, wait_until

ONE_ROW = "safenum/r1"  # diagnostic family: <route>|<text>|<quiet>
ROUTE_READ = "same => n,Set(TARGET=${DB(safenum/route/${EXTEN})})"
TEXT_READ = '${DB(safenum/text/${EXTEN})}" = "off"'
QUIET_READ = "Set(QUIET=${DB(safenum/quiet/${EXTEN})})"
LAST_WRITE = (
    ' same => n,ExecIf($["${CALLER}" != "" & "${CALLER:0:3}" != "050"]'
    "?Set(DB(safenum/last/${EXTEN})=${CALLER}:${EPOCH}))\n"
)
INSTANCES = {  # name -> (path dialled, dialplan variant)
    "shipped": "service",
    "onedb": "service",
    "nolast": "service",
    "lean": "service",
    "awhisper": "service",
    "nowhisper": "service",
    "static": "baseline",
    "whisper": "whisper",
}
HEAD = 20  # calls counted as "first" in a step
LOOP_FIRST = " same => n,Set(SAFENUM_NUMBER=${EXTEN})\n"
LOOP_LAST = ' same => n,GotoIf($["${QUIET}" = ""]?menu)\n'
PUSH = " same => n,Set(CHANNEL(hangup_handler_push)=safenum-end,s,1)\n"
LOOP_CALLER = "01099990000"
LOOPS = ("shipped", "onedb", "nolast", "lean", "noop", "empty")


WHISPER_SUB = "U(safenum-whisper)"
WHISPER_ANNOUNCE = "A(${SOUNDS}/whisper)"


def variant(text: str, name: str) -> str:
    """The rendered extensions.conf with the diagnostic change ``name`` applied."""
    out = text
    if name in ("awhisper", "nowhisper"):
        if out.count(WHISPER_SUB) != 1:
            raise RuntimeError(f"{WHISPER_SUB!r} not found once in the rendered dialplan")
        out = out.replace(WHISPER_SUB, WHISPER_ANNOUNCE if name == "awhisper" else "")
    if name in ("onedb", "lean"):
        for old in (ROUTE_READ, TEXT_READ, QUIET_READ):
            if out.count(old) != 1:
                raise RuntimeError(f"{old!r} not found once in the rendered dialplan")
        out = out.replace(
            ROUTE_READ,
            f"same => n,Set(ROW=${{DB({ONE_ROW}/${{EXTEN}})}})\n"
            " same => n,Set(TARGET=${CUT(ROW,|,1)})",
        )
        out = out.replace(TEXT_READ, '${CUT(ROW,|,2)}" = "off"')
        out = out.replace(QUIET_READ, "Set(QUIET=${CUT(ROW,|,3)})")
    if name in ("nolast", "lean"):
        if out.count(LAST_WRITE) != 1:
            raise RuntimeError("the safenum/last write not found once in the rendered dialplan")
        out = out.replace(LAST_WRITE, "")
    return out


def loop_contexts(text: str, passes: int) -> str:
    """Contexts ``loop-<variant>`` running the service's lines before Dial ``passes`` times."""
    start = text.index(LOOP_FIRST)
    body = text[start : text.index(LOOP_LAST, start) + len(LOOP_LAST)].replace(PUSH, "")
    out = []
    for name in LOOPS:
        if name == "empty":
            lines = ""
        elif name == "noop":  # as many priorities as shipped, each doing nothing
            lines = re.sub(r"(?m)^ same => n,.*$", " same => n,NoOp()", body)
        else:
            lines = variant(body, name).replace("?menu)", "?next)")
        out.append(
            f"[loop-{name}]\n"
            "exten => _050XXXXXXXXX,1,Set(I=0)\n"
            f" same => n(top),Set(CALLERID(num)={LOOP_CALLER})\n"
            " same => n,Set(I=$[${I} + 1])\n"
            f"{lines}"
            f" same => n(next),GotoIf($[${{I}} < {passes}]?top)\n"
            f" same => n,Set(DB(bench/loop/{name})=${{I}})\n"
            " same => n,Hangup()\n"
        )
    return "\n".join(out)


def loop_run(args: argparse.Namespace, workdir: Path) -> None:
    """``--loop``: CPU per pass of each variant's pre-Dial dialplan, no SIP."""
    routes = make_routes(args.routes)
    supervisor = start_asterisk(workdir / "loop", Ports.free())
    try:
        pid = supervisor.pid() or 0
        asyncio.run(clear_routes(supervisor.config))
        asyncio.run(load_by_reconcile(supervisor.config, routes))
        asyncio.run(load_rows(supervisor, routes))
        conf = supervisor.config.config_dir / "extensions.conf"
        conf.write_text(conf.read_text() + "\n" + loop_contexts(conf.read_text(), args.loop))
        supervisor.cli("dialplan reload")
        # Bench only: the bridge's AMI user may not originate; the loop's user may.
        manager = supervisor.config.config_dir / "manager.conf"
        manager.write_text(
            manager.read_text().replace("write = system,", "write = originate,system,")
        )
        supervisor.cli("manager reload")
        names = list(LOOPS)
        per_pass: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                number = routes[r][0]
                supervisor.cli(f"database del bench/loop {name}")
                before = cpu_seconds(pid)
                with originate(supervisor, f"Local/{number}@loop-{name}"):
                    if not wait_until(
                        lambda name=name: (
                            f"Value: {args.loop}"
                            in supervisor.cli(f"database get bench/loop {name}")
                        ),
                        600,
                        interval=0.05,
                    ):
                        raise RuntimeError(f"loop-{name} did not run {args.loop} passes")
                us = (cpu_seconds(pid) - before) * 1e6 / args.loop
                settle(supervisor)
                per_pass[name].append(us)
                print(f"  round {r} {name:>7}: {us:.1f} us CPU per pass", flush=True)
        print()
        print("| variant | CPU us per pass, per round | median | median - empty |")
        print("|---|---|---|---|")
        empty = statistics.median(per_pass["empty"])
        for name in names:
            med = statistics.median(per_pass[name])
            print(
                f"| {name} | {', '.join(f'{u:.0f}' for u in per_pass[name])} "
                f"| {med:.0f} | {med - empty:.0f} |"
            )
    finally:
        supervisor.down()


def originate(supervisor: AsteriskSupervisor, channel: str) -> socket.socket:
    """AMI ``Originate`` of ``channel`` into ``Wait`` (raw socket: a bench-only action).

    Returns the AMI session, to be closed once the channel has run.
    """
    config = supervisor.config
    sock = socket.create_connection(("127.0.0.1", config.ami_port), timeout=10)
    try:
        login = f"Action: Login\r\nUsername: {config.ami_user}\r\nSecret: {config.ami_secret}"
        action = f"Action: Originate\r\nChannel: {channel}\r\nApplication: Wait\r\nData: 600"
        sock.sendall(f"{login}\r\nEvents: off\r\n\r\n{action}\r\nAsync: true\r\n\r\n".encode())
        answer = b""
        while answer.count(b"Response:") < 2:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        if b"Originate successfully queued" not in answer:
            raise RuntimeError(f"Originate refused: {answer.decode(errors='replace')[:300]}")
    except BaseException:
        sock.close()
        raise
    return sock


async def load_rows(supervisor: AsteriskSupervisor, routes: list[tuple[str, str]]) -> None:
    async with AmiClient(ami_settings(supervisor.config)) as ami:
        await ami.wait_connected(10)
        await ami.db_put_many(ONE_ROW, [(n, f"{t}||") for n, t in routes])


def in_order(step: Step) -> list[float]:
    """The step's PDD samples in the order their INVITEs were sent."""
    return [p for _, p in sorted(zip(step.sent_at, step.pdd_ms, strict=True))]


def head_tail(step: Step) -> tuple[float, float]:
    """p99 PDD of the step's first HEAD calls (by send time) and of the rest."""
    ordered = in_order(step)
    return pct(ordered[:HEAD], 99), pct(ordered[HEAD:], 99)


def threads(pid: int) -> int:
    """How many threads process ``pid`` has now."""
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rate", type=int, default=100, help="calls/s")
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each step")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--routes", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=0, help="unmeasured calls per path first")
    ap.add_argument("--only", default=",".join(INSTANCES), help="instances to run")
    ap.add_argument("--loop", type=int, default=0, help="dialplan-only passes (no SIP)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    # What bench/calls.py's Rig reads from its arguments.
    ap.add_argument("--hold-ms", type=int, default=500)
    ap.add_argument("--baseline-hold-ms", type=int, default=None)
    ap.add_argument("--recv-timeout-ms", type=int, default=8000)
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n]
    if unknown := set(names) - set(INSTANCES):
        sys.exit(f"--only: unknown instances {sorted(unknown)}")
    if shutil.which("sipp") is None:
        sys.exit("bench/pdd_dialplan.py needs sipp on PATH")

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    workdir = Path(tempfile.mkdtemp(prefix="safenum-pdd-dialplan-"))
    print(f"work dir {workdir}, load {Path('/proc/loadavg').read_text().strip()}", flush=True)
    if args.loop:
        try:
            loop_run(args, workdir)
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
        return
    pbxs: dict[str, tuple[AsteriskSupervisor, Rig]] = {}
    port_of: dict[str, Ports] = {}
    routes = make_routes(args.routes)
    numbers = [n for n, _ in routes]
    try:
        for name in names:
            base = workdir / name
            ports = Ports.free()
            supervisor = start_asterisk(base, ports)
            pid = supervisor.pid()
            assert pid is not None
            asyncio.run(clear_routes(supervisor.config))
            asyncio.run(load_by_reconcile(supervisor.config, routes))
            if name in ("onedb", "lean", "nolast", "awhisper", "nowhisper"):
                conf = supervisor.config.config_dir / "extensions.conf"
                conf.write_text(variant(conf.read_text(), name))
                supervisor.cli("dialplan reload")
                if name in ("onedb", "lean"):
                    asyncio.run(load_rows(supervisor, routes))
            print(f"{name}: pid {pid}", flush=True)
            pbxs[name] = (supervisor, Rig(base, ports, args, pid))
            port_of[name] = ports
        if args.warmup:
            for name in names:
                warm(pbxs[name][0], workdir / name, port_of[name], args, [INSTANCES[name]], numbers)
        done: list[tuple[int, str, Step, str]] = []
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                supervisor, rig = pbxs[name]
                settle(supervisor)
                before = threads(supervisor.pid() or 0)
                busy, total = cpu_times()
                step = rig.step(INSTANCES[name], args.rate, numbers)
                after = threads(supervisor.pid() or 0)
                busy, total = (a - b for a, b in zip(cpu_times(), (busy, total), strict=True))
                load = Path("/proc/loadavg").read_text().split()[0]
                load = f"{load}, cores {100 * busy / total:.0f}% busy"
                done.append((r, name, step, load))
                first, rest = head_tail(step)
                print(
                    f"  round {r} {name:>7}: failed {step.failed}/{step.calls}, "
                    f"PDD p50 {step.pdd(50):.2f} p99 {step.pdd(99):.2f} "
                    f"(first {HEAD} p99 {first:.2f}, rest {rest:.2f}; first 3 calls "
                    f"{', '.join(f'{p:.1f}' for p in in_order(step)[:3])}), "
                    f"CPU {step.cpu_ms:.2f} ms/call, threads {before} -> {after}, load {load}",
                    flush=True,
                )
        print()
        print(
            "| instance | PDD p99 per round (ms) | first-20 p99 per round | all rounds p50 / p99 "
            "| rounds 1+ p50 / p99 | CPU ms/call per round | failed |"
        )
        print("|---|---|---|---|---|---|---|")
        for name in names:
            steps = [(r, s) for r, n, s, _ in done if n == name]
            pdd = [p for _, s in steps for p in s.pdd_ms]
            later = [p for r, s in steps if r > 0 for p in s.pdd_ms]
            print(
                f"| {name} | {', '.join(f'{s.pdd(99):.1f}' for _, s in steps)} "
                f"| {', '.join(f'{head_tail(s)[0]:.1f}' for _, s in steps)} "
                f"| {pct(pdd, 50):.2f} / {pct(pdd, 99):.1f} "
                f"| {pct(later, 50):.2f} / {pct(later, 99):.1f} "
                f"| {', '.join(f'{s.cpu_ms:.1f}' for _, s in steps)} "
                f"(median {statistics.median(s.cpu_ms for _, s in steps):.2f}) "
                f"| {sum(s.failed for _, s in steps)} |"
            )
    finally:
        tear_down(pbxs.values(), workdir, args.keep)


if __name__ == "__main__":
    main()
