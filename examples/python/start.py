"""Registers the `greet` task and the `hello` workflow, then runs the workflow once.

    BATON_SERVER=127.0.0.1:7070 python examples/python/start.py Ada

Needs a worker serving `greet` (worker.py beside this file).
"""

import sys

from baton import BatonClient

GREET = {"name": "greet", "retryCount": 2, "retryDelaySeconds": 1, "responseTimeoutSeconds": 30}

HELLO = {
    "name": "hello",
    "version": 1,
    "schemaVersion": 2,
    "tasks": [
        {
            "name": "greet",
            "taskReferenceName": "greet",
            "type": "SIMPLE",
            "inputParameters": {"name": "${workflow.input.name}"},
        }
    ],
    "outputParameters": {"greeting": "${greet.output.greeting}"},
}

if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "world"
    with BatonClient() as client:
        client.register_task_defs(GREET)
        client.register_workflow_def(HELLO, overwrite=True)
        workflow = client.execute_workflow("hello", {"name": name}, wait_seconds=10)
        print(workflow.workflow_id, workflow.status.value, workflow.output)
