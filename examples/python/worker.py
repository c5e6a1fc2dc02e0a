"""A small Baton worker: serves the `greet` task until Ctrl-C.

    pip install ./sdks/python
    BATON_SERVER=127.0.0.1:7070 python examples/python/worker.py

Then start the `hello` workflow (see start.py beside this file).
"""

import logging

from baton import Task, Worker, worker_task


@worker_task("greet", concurrency=4)
def greet(name: str, task: Task) -> dict:
    task.log(f"greeting {name}")
    return {"greeting": f"Hello, {name}"}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    worker = Worker()
    print(f"serving greet on {worker.server}; Ctrl-C to stop", flush=True)
    worker.run()
