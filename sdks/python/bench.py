"""Throughput of one Python worker process against a real ``baton server``.

By default it starts its own server (``BATON_BIN``, default <repo>/target/release/baton) on a
temporary data directory, registers a one-task workflow, starts ``--tasks`` workflows, and
then runs one worker in this process with a trivial handler, counting acknowledged results
per second.

    python bench.py                         # preload 20,000 workflows, then drain them
    python bench.py --mode live             # start workflows from a second process meanwhile
    python bench.py --handler async         # an `async def` handler instead of a thread pool
    python bench.py --server 127.0.0.1:7070 # use a running server
    BATON_WORKER_BATCH=0 python bench.py    # without batching on the worker stream

Modes: ``preload`` starts every workflow before the worker connects, so the worker's rate is
measured without a loader competing for the CPU; ``live`` runs the loader (another process)
while the worker drains.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from baton import AsyncBatonClient, BatonClient, Task, TaskRegistry, Worker, worker_task  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]


def server_cpu_seconds(pid: int | None) -> float:
    """User+system CPU seconds used so far by a process (Linux), 0 if unknown."""
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def drain(stream: Any) -> None:
    for _ in stream:
        pass


def start_server(data_dir: str) -> tuple[subprocess.Popen[str], str]:
    binary = os.environ.get("BATON_BIN") or str(REPO_ROOT / "target" / "release" / "baton")
    process = subprocess.Popen(
        [binary, "server", "--data-dir", data_dir, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"baton server listening on (\S+)", line)
        if match:
            threading.Thread(target=drain, args=(process.stdout,), daemon=True).start()
            return process, match.group(1)
    raise RuntimeError("server did not start")


async def load(address: str, workflow: str, count: int, parallel: int) -> float:
    """Starts ``count`` workflows with ``parallel`` calls in flight; returns seconds taken."""
    started = time.perf_counter()
    async with AsyncBatonClient(address) as client:
        next_index = 0

        async def starter() -> None:
            nonlocal next_index
            while next_index < count:
                i = next_index
                next_index += 1
                await client.start_workflow(workflow, {"i": i})

        await asyncio.gather(*(starter() for _ in range(parallel)))
    return time.perf_counter() - started


def load_in_process(address: str, workflow: str, count: int, parallel: int) -> None:
    asyncio.run(load(address, workflow, count, parallel))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", help="address of a running server (default: start one)")
    parser.add_argument("--tasks", type=int, default=20_000, help="workflows (= tasks) to run")
    parser.add_argument("--concurrency", type=int, default=64, help="worker slots (= stream credits)")
    parser.add_argument("--handler", choices=["sync", "async"], default="sync")
    parser.add_argument("--mode", choices=["preload", "live"], default="preload")
    parser.add_argument("--load-parallel", type=int, default=64, help="start calls in flight while loading")
    args = parser.parse_args()

    process = None
    data_dir = None
    address = args.server
    if address is None:
        data_dir = tempfile.mkdtemp(prefix="baton-bench-")
        process, address = start_server(data_dir)
    args.server_pid = process.pid if process is not None else None
    try:
        run(address, args)
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def run(address: str, args: Any) -> None:
    suffix = uuid.uuid4().hex[:8]
    task_type, workflow = f"bench_task_{suffix}", f"bench_wf_{suffix}"
    with BatonClient(address) as client:
        client.register_task_defs(
            {"name": task_type, "retryCount": 0, "responseTimeoutSeconds": 600, "ownerEmail": "bench@example.com"}
        )
        client.register_workflow_def(
            {
                "name": workflow,
                "version": 1,
                "schemaVersion": 2,
                "ownerEmail": "bench@example.com",
                "tasks": [
                    {
                        "name": task_type,
                        "taskReferenceName": "t",
                        "type": "SIMPLE",
                        "inputParameters": {"i": "${workflow.input.i}"},
                    }
                ],
            }
        )

    loader = None
    if args.mode == "preload":
        seconds = asyncio.run(load(address, workflow, args.tasks, args.load_parallel))
        print(f"started {args.tasks} workflows in {seconds:.2f}s ({args.tasks / seconds:,.0f}/s)")

    registry = TaskRegistry()
    if args.handler == "async":

        @worker_task(task_type, concurrency=args.concurrency, registry=registry)
        async def handle_async(task: Task) -> dict[str, Any]:
            return {"i": task.input.get("i")}

    else:

        @worker_task(task_type, concurrency=args.concurrency, registry=registry)
        def handle(task: Task) -> dict[str, Any]:
            return {"i": task.input.get("i")}

    worker = Worker(server=address, registry=registry)
    server_cpu_before = server_cpu_seconds(args.server_pid)
    cpu_before = time.process_time()
    started = time.perf_counter()
    if args.mode == "live":
        loader = multiprocessing.Process(
            target=load_in_process, args=(address, workflow, args.tasks, args.load_parallel)
        )
        loader.start()
    worker.start()
    first_at = None
    last_report = started
    while True:
        done = worker.stats().total("acknowledged")
        now = time.perf_counter()
        if first_at is None and done > 0:
            first_at = now
        if done >= args.tasks:
            break
        if now - last_report >= 2:
            print(f"  {done} done, {done / (now - started):,.0f}/s so far", flush=True)
            last_report = now
        if now - started > 600:
            raise SystemExit(f"gave up: only {done} of {args.tasks} tasks done after 600 s")
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    worker_cpu = time.process_time() - cpu_before
    server_cpu = server_cpu_seconds(args.server_pid) - server_cpu_before
    worker.stop(grace_period=5)
    if loader is not None:
        loader.join()
    stats = worker.stats()
    print(
        f"mode={args.mode} handler={args.handler} concurrency={args.concurrency} "
        f"batch={'on' if worker.batch else 'off'}: "
        f"{args.tasks} tasks in {elapsed:.2f}s = {args.tasks / elapsed:,.0f} tasks/s "
        f"(completed={stats.total('completed')}, failed={stats.total('failed')}, "
        f"worker cpu {worker_cpu:.1f}s = {100 * worker_cpu / elapsed:.0f}% of a core"
        + (f", server cpu {server_cpu:.1f}s = {100 * server_cpu / elapsed:.0f}%" if args.server_pid else "")
        + ")"
    )


if __name__ == "__main__":
    main()
