"""Python SDK for Baton: task workers and a client for workflows and schedules.

Workers::

    from baton import Worker, worker_task

    @worker_task("greet")
    def greet(name: str) -> dict:
        return {"greeting": f"Hello, {name}"}

    Worker(server="127.0.0.1:7070").run()

Client::

    from baton import BatonClient

    with BatonClient("127.0.0.1:7070") as client:
        workflow = client.execute_workflow("hello", {"name": "Ada"})

For a server that runs with authentication on, both take ``api_key="bk_..."`` (or read
``BATON_API_KEY``).
"""

from baton.client import AsyncBatonClient, BatonClient
from baton.errors import (
    AbortedError,
    AlreadyExistsError,
    BatonError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    TerminalError,
    UnauthenticatedError,
    UnavailableError,
)
from baton.metrics import WorkerMetrics
from baton.models import (
    ApiKey,
    AuditEvent,
    AuditOutcome,
    BulkOperation,
    BulkScheduleOutcome,
    BulkWorkflowOutcome,
    EventHandler,
    IdempotencyStrategy,
    ImportOutcome,
    LatencyQuantiles,
    MetricsHistory,
    MetricsSample,
    NewApiKey,
    OverlapPolicy,
    Role,
    Schedule,
    ScheduleCounters,
    ScheduleHistoryEntry,
    SchedulePreview,
    ScheduleSlot,
    SearchResult,
    TaskDefInfo,
    TaskInfo,
    TaskLogLine,
    TaskPage,
    TaskStatus,
    ValidationProblem,
    ValidationResult,
    Workflow,
    WorkflowDefInfo,
    WorkflowWait,
    WorkflowStatus,
)
from baton.task import Task, TaskResult, current_task
from baton.worker import (
    AsyncWorker,
    TaskRegistry,
    Worker,
    WorkerEvent,
    WorkerStats,
    WorkerTask,
    default_registry,
    worker_task,
)

__version__ = "0.1.0"
"""The SDK's version: the workspace version of the Baton repository (see tools/check_package.py)."""

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "ApiKey",
    "AsyncBatonClient",
    "AsyncWorker",
    "AuditEvent",
    "AuditOutcome",
    "BatonClient",
    "BatonError",
    "BulkOperation",
    "BulkScheduleOutcome",
    "BulkWorkflowOutcome",
    "DeadlineExceededError",
    "EventHandler",
    "FailedPreconditionError",
    "IdempotencyStrategy",
    "ImportOutcome",
    "InternalError",
    "InvalidArgumentError",
    "LatencyQuantiles",
    "MetricsHistory",
    "MetricsSample",
    "NewApiKey",
    "NotFoundError",
    "OverlapPolicy",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "Role",
    "Schedule",
    "ScheduleCounters",
    "ScheduleHistoryEntry",
    "SchedulePreview",
    "ScheduleSlot",
    "SearchResult",
    "Task",
    "TaskDefInfo",
    "TaskInfo",
    "TaskLogLine",
    "TaskPage",
    "TaskRegistry",
    "TaskResult",
    "TaskStatus",
    "TerminalError",
    "UnauthenticatedError",
    "UnavailableError",
    "ValidationProblem",
    "ValidationResult",
    "Worker",
    "WorkerEvent",
    "WorkerMetrics",
    "WorkerStats",
    "WorkerTask",
    "Workflow",
    "WorkflowDefInfo",
    "WorkflowWait",
    "WorkflowStatus",
    "current_task",
    "default_registry",
    "worker_task",
]
