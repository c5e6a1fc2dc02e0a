"""Task completions per second of conductor-python's TaskHandler workers against a server
that speaks Conductor's REST API, named by its base URL only (`http://host:port/api`), so
the same script measures Baton and Conductor OSS.

Over the client's metadata client it registers one task definition per step and a workflow
of N sequential SIMPLE tasks (each task's input maps the previous task's output). It starts
TaskHandler with one Worker per task type (so one worker process per step, as TaskHandler
runs them), all with the same thread count and poll interval; runs a warm-up batch of
workflows to completion; then starts W workflows over the client's workflow client from
several threads as fast as they go and waits until the server's running list for the
workflow is empty. It then reads every measured workflow: all must be COMPLETED, and the
latest `endTime` ends the measured interval, which begins just before the first start
request. Prints one JSON line.
"""

import argparse
import json
import os
import sys
import threading
import time

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.workflow_resource_api import WorkflowResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models.start_workflow_request import StartWorkflowRequest
from conductor.client.http.models.task_def import TaskDef
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.orkes_clients import OrkesClients
from conductor.client.worker.worker import Worker

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_workers  # noqa: E402

OWNER = "bench@example.com"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", required=True, help="base URL of the REST API, e.g. http://localhost:8080/api")
    p.add_argument("--label", default="", help="name of the server in the output")
    p.add_argument("--workflows", type=int, default=2000, help="measured workflows")
    p.add_argument("--tasks", type=int, default=3, help="SIMPLE tasks per workflow (one task type, and one worker process, each)")
    p.add_argument("--warmup", type=int, default=200, help="workflows run to completion before measuring")
    p.add_argument("--start-threads", type=int, default=8, help="threads issuing start requests")
    p.add_argument("--thread-count", type=int, default=10, help="TaskHandler thread_count of every worker (also its batch-poll size)")
    p.add_argument("--poll-interval-ms", type=float, default=10, help="TaskHandler poll_interval of every worker")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for the measured workflows")
    p.add_argument("--server-pids", default="", help="comma-separated pids whose CPU time to report (server, and redis for Conductor)")
    return p.parse_args()


def cpu_seconds(pids):
    """User + system CPU seconds of the given processes and their reaped children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / tick


def register(clients, name, n):
    metadata = clients.get_metadata_client()
    for i in range(n):
        metadata.register_task_def(TaskDef(
            name=f"{name}_t{i}", owner_email=OWNER, retry_count=0,
            timeout_seconds=600, response_timeout_seconds=300,
        ))
    tasks = []
    for i in range(n):
        t = WorkflowTask(name=f"{name}_t{i}", task_reference_name=f"s{i}", type="SIMPLE")
        t.input_parameters = {"n": "${workflow.input.n}" if i == 0 else f"${{s{i - 1}.output.n}}"}
        tasks.append(t)
    wf = WorkflowDef(name=name, version=1, tasks=tasks, schema_version=2, owner_email=OWNER,
                     timeout_seconds=0, output_parameters={"n": f"${{s{n - 1}.output.n}}"})
    metadata.update_workflow_def(wf, overwrite=True)  # PUT: creates or replaces


def start_all(config, name, count, threads):
    """Starts `count` workflows from `threads` threads (one client each); returns the ids."""
    ids = [None] * count
    next_index = iter(range(count))
    lock = threading.Lock()
    errors = []

    def run():
        client = OrkesClients(configuration=config).get_workflow_client()
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            try:
                ids[i] = client.start_workflow(StartWorkflowRequest(name=name, version=1, input={"n": i}))
            except Exception as e:  # reported below; the run is then invalid
                errors.append(repr(e))
                return

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} start requests failed, first: {errors[0]}")
    return ids


def wait_drained(api, name, deadline, interval=0.05):
    """Polls the server's running list of the workflow until it is empty."""
    while True:
        running = api.get_running_workflow(name, version=1)
        if not running:
            return time.time()
        if time.time() > deadline:
            raise RuntimeError(f"{len(running)} workflows still running at the deadline")
        time.sleep(interval)


def read_all(config, ids, threads=8):
    """Reads every workflow (without tasks); returns (statuses by count, max endTime ms)."""
    results = [None] * len(ids)

    def run(k):
        api = WorkflowResourceApi(ApiClient(config))
        for i in range(k, len(ids), threads):
            wf = api.get_execution_status(ids[i], include_tasks=False)
            results[i] = (wf.status, wf.end_time)

    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    statuses = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    ends = [end for _, end in results if end]
    return statuses, (max(ends) if ends else None)


def main():
    args = parse_args()
    config = Configuration(server_api_url=args.server)
    clients = OrkesClients(configuration=config)
    api = WorkflowResourceApi(ApiClient(config))
    name = f"cpbench_{args.tasks}"
    register(clients, name, args.tasks)

    workers = [
        Worker(task_definition_name=f"{name}_t{i}", execute_function=bench_workers.step,
               poll_interval=args.poll_interval_ms, thread_count=args.thread_count)
        for i in range(args.tasks)
    ]
    handler = TaskHandler(workers=workers, configuration=config,
                          scan_for_annotated_workers=False, monitor_processes=False)
    handler.start_processes()
    try:
        if args.warmup:
            start_all(config, name, args.warmup, args.start_threads)
            wait_drained(api, name, time.time() + args.timeout)

        pids = [int(p) for p in args.server_pids.split(",") if p]
        cpu0 = cpu_seconds(pids) if pids else None
        t0 = time.time()
        ids = start_all(config, name, args.workflows, args.start_threads)
        t_started = time.time()
        t_drained = wait_drained(api, name, t0 + args.timeout)
        cpu1 = cpu_seconds(pids) if pids else None
    finally:
        handler.stop_processes()

    statuses, last_end_ms = read_all(config, ids)
    if statuses.get("COMPLETED", 0) != args.workflows:
        raise RuntimeError(f"not every workflow completed: {statuses}")
    t_end = last_end_ms / 1000 if last_end_ms else t_drained
    elapsed = t_end - t0
    tasks = args.workflows * args.tasks
    out = {
        "server": args.label or args.server,
        "workflows": args.workflows,
        "tasks_per_workflow": args.tasks,
        "warmup": args.warmup,
        "start_threads": args.start_threads,
        "worker_processes": args.tasks,
        "thread_count": args.thread_count,
        "poll_interval_ms": args.poll_interval_ms,
        "elapsed_s": round(elapsed, 3),
        "tasks_per_s": round(tasks / elapsed, 1),
        "workflows_per_s": round(args.workflows / elapsed, 1),
        "starts_per_s": round(args.workflows / (t_started - t0), 1),
        "drained_after_s": round(t_drained - t0, 3),
    }
    if cpu0 is not None:
        out["server_cpu_s"] = round(cpu1 - cpu0, 2)
        out["server_cpu_us_per_task"] = round((cpu1 - cpu0) / tasks * 1e6, 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
