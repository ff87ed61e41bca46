"""Post-dial delay and held call rate through the Kamailio edge and two nodes, vs one
node dialled directly, in the same run.

    .venv/bin/python bench/cluster.py [--rates 5,10,20] [--seconds 5] [--rounds 1] [--numbers 200]

Starts a local cluster exactly as ``safenum cluster up --nodes 2`` does (Kamailio,
two Asterisk 22 nodes, their ``safenum bridge`` processes and ``safenum edge``) in a
temporary data dir with SQLite and a private redis-server, menu off
(``SAFENUM_CALL_MENU=false``), and issues ``--numbers`` safe numbers through the
service (both nodes' AstDB and the edge's table are filled by the bridges). Then, per
rate, two SIPp steps in alternating order, with ``bench/calls.py``'s rig (same
scenarios, same PDD stamping and pairing, same "held" criteria):

- baseline ("direct"): the carrier's INVITEs go straight to node-1's SIP port;
- service ("edge"): the same calls go to the edge, which spreads them over both nodes.

In both, the driver's leg leaves the node through the edge to the trunk (the node's
trunk is the edge), so the ratio isolates what the edge adds on the way in: one
stateful proxy hop, the dispatcher choice and the gate lookup. Ratios are edge /
direct. Two cores shared with other work cannot show that two nodes hold twice one
node's rate: both nodes, Kamailio and SIPp share the same two cores, so the held rate
here is the machine's, not the cluster's (see docs/scaling.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app_api.settings import Settings
from app_api.wiring import Core
from bench.calls import Ports, Rig, Step, report
from numbering.outbox import Outbox
from numbering.types import OwnerPhone, Plate, SafeNumber
from proxy.asterisk.install import AsteriskInstall, AsteriskNotInstalled
from proxy.asterisk.process import wait_until
from proxy.bridge.edge import ACTIVE, META
from proxy.kamailio.rpc import EdgeRpc
from tests.conftest import start_redis
from tests.pbx.pbx_sipp import free_port


def cli(env: dict[str, str], *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", "from app_api.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"safenum {' '.join(args)}: {done.stderr.strip()}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def issue_numbers(core: Core, count: int) -> list[str]:
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "99999999")
        return [
            SafeNumber.parse(
                svc.issue(
                    OwnerPhone.parse(f"010-6{i:03d}-{i:04d}"), Plate.parse("12가3456")
                ).safe_number
            ).digits
            for i in range(count)
        ]


def caught_up(core: Core, names: list[str]) -> bool:
    with core.reading() as svc:
        outbox = Outbox(svc.repo.session)
        head = outbox.head()
        nodes = {n.name: n.position for n in outbox.nodes()}
    return all(nodes.get(name, -1) >= head for name in names)


@dataclass(frozen=True)
class TableLoad:
    keys: int
    one_at_a_time_s: float  # htable.sets, one call and reply at a time (before)
    pipelined_s: float  # EdgeRpc.table_set_many, as a full reload does now
    bytes_per_key: float


def measure_table(rpc: EdgeRpc, count: int) -> TableLoad:
    """Fill the edge's spare table with ``count`` synthetic 050 keys twice: one RPC at a
    time, then pipelined the way a full reload does; seconds each and shm bytes per key."""
    spare = "numb" if rpc.table_get(META, ACTIVE) == "a" else "numa"
    keys = [f"0509{i:08d}" for i in range(count)]
    rpc.table_flush(spare)
    before = rpc.shm_used()
    started = time.perf_counter()
    for key in keys:
        rpc.table_set(spare, key, "1")
    one = time.perf_counter() - started
    per_key = (rpc.shm_used() - before) / count
    rpc.table_flush(spare)
    started = time.perf_counter()
    rpc.table_set_many(spare, keys, "1")
    pipelined = time.perf_counter() - started
    assert rpc.table_size(spare) == count
    rpc.table_flush(spare)
    return TableLoad(count, one, pipelined, per_key)


def pooled(rounds: list[Step]) -> Step:
    """One step from several rounds of one path and rate: calls and failures summed,
    post-dial delays pooled (so p99 is over every call of every round)."""
    calls = sum(s.calls for s in rounds)
    return replace(
        rounds[0],
        calls=calls,
        failed=sum(s.failed for s in rounds),
        unmatched=sum(s.unmatched for s in rounds),
        placed_cps=sum(s.placed_cps * s.calls for s in rounds) / calls if calls else 0.0,
        pdd_ms=tuple(d for s in rounds for d in s.pdd_ms),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rates", default="5,10,20", help="calls/s, rising (keep it small)")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each step")
    ap.add_argument("--numbers", type=int, default=200, help="safe numbers issued")
    ap.add_argument("--hold-ms", type=int, default=500, help="caller's hold after the answer")
    ap.add_argument("--recv-timeout-ms", type=int, default=8000, help="a call fails after")
    ap.add_argument("--pdd-limit-ms", type=float, default=500.0, help="second held criterion")
    ap.add_argument(
        "--table-numbers", type=int, default=100_000, help="synthetic keys for the table phase"
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="pairs of steps per rate, interleaved and pooled (more calls, same exposure)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = ap.parse_args()
    args.baseline_hold_ms = None  # bench.calls.Rig reads it
    rates = [int(r) for r in args.rates.split(",")]
    try:
        AsteriskInstall.locate().verify()
    except AsteriskNotInstalled as exc:
        sys.exit(f"bench/cluster.py needs Asterisk 22: {exc}")
    for tool in ("sipp", "kamailio"):
        if shutil.which(tool) is None:
            sys.exit(f"bench/cluster.py needs {tool} on PATH")

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    print(
        f"rates={rates} seconds={args.seconds:g} rounds={args.rounds} numbers={args.numbers} "
        f"cpus={os.cpu_count()} load={' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="sn-cl-"))
    redis_proc, redis_url = start_redis(workdir)
    sip, trunk = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    env = {
        **os.environ,
        "SAFENUM_DATA_DIR": str(workdir / "data"),
        "SAFENUM_DATABASE_URL": f"sqlite:///{workdir / 'safenum.db'}",
        "SAFENUM_REDIS_URL": redis_url,
        "SAFENUM_SIP_PORT": str(sip),
        "SAFENUM_TRUNK_ADDR": f"127.0.0.1:{trunk}",
        "SAFENUM_CALL_MENU": "false",
        "SAFENUM_DIAL_TIMEOUT_SECONDS": "5",
        "SAFENUM_CALLER_SWEEP_NUMBERS": "100000",
        "SAFENUM_LOG_LEVEL": "WARNING",
    }
    steps: list[Step] = []
    table: TableLoad | None = None
    up = False
    try:
        ports = cli(env, "cluster", "up", "--nodes", "2")
        up = True
        nodes = ports["nodes"]
        assert isinstance(nodes, list)
        settings = Settings(data_dir=workdir / "data", database_url=env["SAFENUM_DATABASE_URL"])
        core = Core.build(settings)
        numbers = issue_numbers(core, args.numbers)
        names = [str(n["name"]) for n in nodes]
        if not wait_until(lambda: caught_up(core, names), 60, 0.2):
            raise RuntimeError("the bridges did not apply the issued numbers")
        core.close()
        print(f"cluster up: {ports}", flush=True)

        def rig(target: int, tag: str) -> Rig:
            base = Ports.free()
            sub = workdir / tag
            sub.mkdir()
            return Rig(sub, replace(base, sip=target, trunk=trunk), args)

        rigs = {
            "baseline": rig(int(nodes[0]["sip_port"]), "direct"),
            "service": rig(sip, "edge"),
        }
        table = measure_table(EdgeRpc(Path(str(ports["edge"]["rpc_socket"]))), args.table_numbers)  # type: ignore[index]
        for rate in rates:
            rounds: dict[str, list[Step]] = {"service": [], "baseline": []}
            for r in range(args.rounds):  # interleaved: both paths see the same load
                order = ["service", "baseline"] if r % 2 == 0 else ["baseline", "service"]
                for path in order:
                    step = replace(rigs[path].step("service", rate, numbers), path=path)
                    rounds[path].append(step)
                    label = "edge" if path == "service" else "direct"
                    print(
                        f"  {rate:>4} cps {label:>6} round {r + 1}: "
                        f"failed {step.failed}/{step.calls} "
                        f"unpaired {step.unmatched} placed {step.placed_cps:.1f} cps "
                        f"PDD p50 {step.pdd(50):.2f} p99 {step.pdd(99):.2f} ms",
                        flush=True,
                    )
                    time.sleep(0.5)  # let the previous step's calls end (not a measurement)
            steps += [pooled(rounds[path]) for path in ("service", "baseline")]
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    finally:
        if up:
            cli(env, "cluster", "down")
        redis_proc.terminate()
        redis_proc.wait(10)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work dir kept: {workdir}")
    if table:
        print(
            f"\nedge table: {table.keys:,} keys set over RPC one call at a time in "
            f"{table.one_at_a_time_s:.1f} s ({table.keys / table.one_at_a_time_s:,.0f} keys/s), "
            f"pipelined (a full reload) in {table.pipelined_s:.1f} s "
            f"({table.keys / table.pipelined_s:,.0f} keys/s, "
            f"x{table.one_at_a_time_s / table.pipelined_s:.2f}); "
            f"{table.bytes_per_key:.0f} bytes of shared memory per key"
        )
    print(f"\nload at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min)")
    if steps:
        print("\nbaseline = node-1 dialled directly; service = through the edge (2 nodes)\n")
        print(report(steps, {}, args.pdd_limit_ms))


if __name__ == "__main__":
    main()
