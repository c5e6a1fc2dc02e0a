"""Plain Python views of the server's workflow, task, definition, schedule, monitoring, API key
and audit messages."""

from __future__ import annotations

import datetime as _dt
import enum
import json
from dataclasses import dataclass, field
from typing import Any

from baton._struct import struct_to_dict, timestamp_to_datetime
from baton.v1 import admin_pb2, common_pb2, metadata_pb2, monitor_pb2, schedule_pb2, workflow_pb2


class WorkflowStatus(str, enum.Enum):
    """Lifecycle state of a workflow execution."""

    UNSPECIFIED = "UNSPECIFIED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    TERMINATED = "TERMINATED"

    @property
    def is_terminal(self) -> bool:
        """True for COMPLETED, FAILED, TIMED_OUT and TERMINATED."""
        return self in _TERMINAL_WORKFLOW

    @classmethod
    def from_proto(cls, value: int) -> WorkflowStatus:
        """Maps a ``baton.v1.WorkflowStatus`` number to the enum."""
        name = common_pb2.WorkflowStatus.Name(value)  # type: ignore[arg-type]
        return cls(name.removeprefix("WORKFLOW_STATUS_"))


_TERMINAL_WORKFLOW = frozenset(
    {WorkflowStatus.COMPLETED, WorkflowStatus.FAILED, WorkflowStatus.TIMED_OUT, WorkflowStatus.TERMINATED}
)


class TaskStatus(str, enum.Enum):
    """Lifecycle state of a task instance."""

    UNSPECIFIED = "UNSPECIFIED"
    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"
    FAILED_WITH_TERMINAL_ERROR = "FAILED_WITH_TERMINAL_ERROR"
    TIMED_OUT = "TIMED_OUT"
    CANCELED = "CANCELED"
    SKIPPED = "SKIPPED"

    @property
    def is_terminal(self) -> bool:
        """True once the task can no longer change."""
        return self not in (TaskStatus.UNSPECIFIED, TaskStatus.SCHEDULED, TaskStatus.IN_PROGRESS)

    @classmethod
    def from_proto(cls, value: int) -> TaskStatus:
        """Maps a ``baton.v1.TaskStatus`` number to the enum."""
        name = common_pb2.TaskStatus.Name(value)  # type: ignore[arg-type]
        return cls(name.removeprefix("TASK_STATUS_"))

    def to_proto(self) -> common_pb2.TaskStatus.ValueType:
        """Maps the enum to its ``baton.v1.TaskStatus`` number."""
        return common_pb2.TaskStatus.Value("TASK_STATUS_" + self.value)


class IdempotencyStrategy(str, enum.Enum):
    """What a start does when its idempotency key was used before."""

    FAIL = "FAIL"
    """Refuse the start (:class:`baton.AlreadyExistsError`)."""
    RETURN_EXISTING = "RETURN_EXISTING"
    """Return the id of the execution that used the key."""
    FAIL_ON_RUNNING = "FAIL_ON_RUNNING"
    """Refuse only while that execution is running or paused."""

    def to_proto(self) -> workflow_pb2.IdempotencyStrategy.ValueType:
        """Maps the enum to its ``baton.v1.IdempotencyStrategy`` number."""
        return workflow_pb2.IdempotencyStrategy.Value("IDEMPOTENCY_STRATEGY_" + self.value)


class OverlapPolicy(str, enum.Enum):
    """What a schedule does with a run that comes while its own runs are open."""

    SKIP = "SKIP"
    """Do not start it; record it as skipped."""
    BUFFER_ONE = "BUFFER_ONE"
    """Start it when the open runs end; one waits at most, later ones are skipped."""
    BUFFER_ALL = "BUFFER_ALL"
    """Start each, in order, when the previous ones end."""
    CANCEL_OTHER = "CANCEL_OTHER"
    """Cancel the open runs and start it once they have ended."""
    TERMINATE_OTHER = "TERMINATE_OTHER"
    """Terminate the open runs and start it at once."""
    ALLOW_ALL = "ALLOW_ALL"
    """Start it at once (the server's default)."""


@dataclass
class TaskLogLine:
    """One log line a worker wrote for a task."""

    message: str
    time: _dt.datetime | None = None

    @classmethod
    def from_proto(cls, log: common_pb2.TaskLog) -> TaskLogLine:
        """Builds the view from a ``baton.v1.TaskLog``."""
        return cls(message=log.message, time=timestamp_to_datetime(log, "time"))


@dataclass
class TaskInfo:
    """One task instance of a workflow execution."""

    task_id: str
    task_def_name: str
    task_type: str
    reference_task_name: str
    status: TaskStatus
    input: dict[str, Any]
    output: dict[str, Any]
    seq: int
    retry_count: int
    poll_count: int
    workflow_id: str
    workflow_type: str
    worker_id: str
    reason_for_incompletion: str
    callback_after_seconds: int
    domain: str
    retried_task_id: str
    response_timeout_seconds: int
    correlation_id: str
    priority: int
    optional: bool
    iteration: int
    scheduled_time: _dt.datetime | None = None
    start_time: _dt.datetime | None = None
    end_time: _dt.datetime | None = None

    @classmethod
    def from_proto(cls, task: common_pb2.Task) -> TaskInfo:
        """Builds the view from a ``baton.v1.Task``."""
        return cls(
            task_id=task.task_id,
            task_def_name=task.task_def_name,
            task_type=task.task_type,
            reference_task_name=task.reference_task_name,
            status=TaskStatus.from_proto(task.status),
            input=struct_to_dict(task.input),
            output=struct_to_dict(task.output),
            seq=task.seq,
            retry_count=task.retry_count,
            poll_count=task.poll_count,
            workflow_id=task.workflow_id,
            workflow_type=task.workflow_type,
            worker_id=task.worker_id,
            reason_for_incompletion=task.reason_for_incompletion,
            callback_after_seconds=task.callback_after_seconds,
            domain=task.domain,
            retried_task_id=task.retried_task_id,
            response_timeout_seconds=task.response_timeout_seconds,
            correlation_id=task.correlation_id,
            priority=task.priority,
            optional=task.optional,
            iteration=task.iteration,
            scheduled_time=timestamp_to_datetime(task, "scheduled_time"),
            start_time=timestamp_to_datetime(task, "start_time"),
            end_time=timestamp_to_datetime(task, "end_time"),
        )


@dataclass
class Workflow:
    """One workflow execution."""

    workflow_id: str
    workflow_name: str
    workflow_version: int
    status: WorkflowStatus
    input: dict[str, Any]
    output: dict[str, Any]
    correlation_id: str
    priority: int
    reason_for_incompletion: str
    variables: dict[str, Any]
    task_to_domain: dict[str, str]
    tasks: list[TaskInfo] = field(default_factory=list)
    create_time: _dt.datetime | None = None
    start_time: _dt.datetime | None = None
    end_time: _dt.datetime | None = None
    update_time: _dt.datetime | None = None
    parent_workflow_id: str = ""
    parent_workflow_task_id: str = ""
    idempotency_key: str = ""
    failed_reference_task_name: str = ""

    @property
    def is_terminal(self) -> bool:
        """True once the execution reached COMPLETED, FAILED, TIMED_OUT or TERMINATED."""
        return self.status.is_terminal

    def tasks_by_ref(self, reference_task_name: str) -> list[TaskInfo]:
        """Every instance (first attempt and retries) of one task reference, in order."""
        return [t for t in self.tasks if t.reference_task_name == reference_task_name]

    def task(self, reference_task_name: str) -> TaskInfo | None:
        """The latest instance of a task reference, or None if it was never scheduled."""
        found = self.tasks_by_ref(reference_task_name)
        return found[-1] if found else None

    @classmethod
    def from_proto(cls, wf: common_pb2.Workflow) -> Workflow:
        """Builds the view from a ``baton.v1.Workflow``."""
        return cls(
            workflow_id=wf.workflow_id,
            workflow_name=wf.workflow_name,
            workflow_version=wf.workflow_version,
            status=WorkflowStatus.from_proto(wf.status),
            input=struct_to_dict(wf.input),
            output=struct_to_dict(wf.output),
            correlation_id=wf.correlation_id,
            priority=wf.priority,
            reason_for_incompletion=wf.reason_for_incompletion,
            variables=struct_to_dict(wf.variables),
            task_to_domain=dict(wf.task_to_domain),
            tasks=[TaskInfo.from_proto(t) for t in wf.tasks],
            create_time=timestamp_to_datetime(wf, "create_time"),
            start_time=timestamp_to_datetime(wf, "start_time"),
            end_time=timestamp_to_datetime(wf, "end_time"),
            update_time=timestamp_to_datetime(wf, "update_time"),
            parent_workflow_id=wf.parent_workflow_id,
            parent_workflow_task_id=wf.parent_workflow_task_id,
            idempotency_key=wf.idempotency_key,
            failed_reference_task_name=wf.failed_reference_task_name,
        )


@dataclass
class WorkflowWait:
    """What :meth:`baton.BatonClient.wait_workflow` saw when its wait ended."""

    workflow: Workflow
    """The execution as it stood when the wait ended, with its tasks."""
    finished: bool
    """True when the execution was terminal (COMPLETED, FAILED, TIMED_OUT, TERMINATED)."""
    task_ref_finished: bool
    """True when a ``wait_until_task_ref`` was given and that task had finished."""

    @classmethod
    def from_proto(cls, response: workflow_pb2.WaitWorkflowResponse) -> WorkflowWait:
        """Builds the view from a ``baton.v1.WaitWorkflowResponse``."""
        return cls(
            workflow=Workflow.from_proto(response.workflow),
            finished=response.finished,
            task_ref_finished=response.task_ref_finished,
        )


@dataclass
class WorkflowDefInfo:
    """A stored workflow definition."""

    name: str
    version: int
    description: str
    definition: dict[str, Any]
    create_time: _dt.datetime | None = None
    update_time: _dt.datetime | None = None

    @classmethod
    def from_proto(cls, info: metadata_pb2.WorkflowDefInfo) -> WorkflowDefInfo:
        """Builds the view from a ``baton.v1.WorkflowDefInfo``."""
        return cls(
            name=info.name,
            version=info.version,
            description=info.description,
            definition=struct_to_dict(info.definition),
            create_time=timestamp_to_datetime(info, "create_time"),
            update_time=timestamp_to_datetime(info, "update_time"),
        )


@dataclass
class TaskDefInfo:
    """A stored task definition."""

    name: str
    definition: dict[str, Any]
    create_time: _dt.datetime | None = None
    update_time: _dt.datetime | None = None

    @classmethod
    def from_proto(cls, info: metadata_pb2.TaskDefInfo) -> TaskDefInfo:
        """Builds the view from a ``baton.v1.TaskDefInfo``."""
        return cls(
            name=info.name,
            definition=struct_to_dict(info.definition),
            create_time=timestamp_to_datetime(info, "create_time"),
            update_time=timestamp_to_datetime(info, "update_time"),
        )


@dataclass
class ValidationProblem:
    """One problem found in a workflow definition."""

    path: str
    message: str


@dataclass
class ValidationResult:
    """Outcome of validating a workflow definition."""

    valid: bool
    errors: list[ValidationProblem] = field(default_factory=list)


@dataclass
class ScheduleCounters:
    """What became of a schedule's slots and runs since it was created."""

    fired: int = 0
    """Scheduled slots started."""
    missed: int = 0
    """Slots recorded as missed."""
    skipped_by_overlap: int = 0
    """Slots skipped because runs were open."""
    buffered: int = 0
    """Slots that waited in the buffer."""
    failed_to_start: int = 0
    """Starts that failed."""
    succeeded: int = 0
    """Runs that completed."""
    failed: int = 0
    """Runs that failed."""
    manual: int = 0
    """Manual runs (triggers) started."""
    backfilled: int = 0
    """Backfilled slots started."""

    @classmethod
    def from_proto(cls, counters: schedule_pb2.ScheduleCounters) -> ScheduleCounters:
        """Builds the view from a ``baton.v1.ScheduleCounters``."""
        return cls(
            fired=counters.fired,
            missed=counters.missed,
            skipped_by_overlap=counters.skipped_by_overlap,
            buffered=counters.buffered,
            failed_to_start=counters.failed_to_start,
            succeeded=counters.succeeded,
            failed=counters.failed,
            manual=counters.manual,
            backfilled=counters.backfilled,
        )


@dataclass
class Schedule:
    """A stored schedule as it stands: its definition and its state."""

    name: str
    workflow_name: str
    zone_id: str
    """The IANA zone its cron expressions are read in (``UTC`` when the definition names none)."""
    definition: dict[str, Any]
    """Conductor's schedule JSON (with Baton's extensions), with ``paused``,
    ``pausedReason``, ``createTime`` and ``updatedTime`` as they stand."""
    paused: bool
    note: str
    """The note of the last pause or resume; empty when none was given."""
    counters: ScheduleCounters = field(default_factory=ScheduleCounters)
    open_runs: list[str] = field(default_factory=list)
    """Ids of its runs still open."""
    buffered: int = 0
    """Runs waiting for the open ones to end."""
    consecutive_failures: int = 0
    """Failed runs (and starts) since the last success."""
    exhausted: bool = False
    """Whether ``maxRuns`` was reached."""
    revision: int = 0
    """Revision of the stored record; it grows with every change."""
    next_run_time: _dt.datetime | None = None
    """When the next slot fires (jitter included); None while paused, once ``maxRuns`` is
    reached or when no slot is left."""
    last_fired_time: _dt.datetime | None = None
    """The latest scheduled slot started; None when none has."""
    create_time: _dt.datetime | None = None
    update_time: _dt.datetime | None = None

    @classmethod
    def from_proto(cls, view: schedule_pb2.ScheduleView) -> Schedule:
        """Builds the view from a ``baton.v1.ScheduleView``."""
        definition = json.loads(view.definition_json) if view.definition_json else {}
        return cls(
            name=view.name,
            workflow_name=view.workflow_name,
            zone_id=view.zone_id,
            definition=definition if isinstance(definition, dict) else {},
            paused=view.paused,
            note=view.note,
            counters=ScheduleCounters.from_proto(view.counters),
            open_runs=list(view.open_runs),
            buffered=view.buffered,
            consecutive_failures=view.consecutive_failures,
            exhausted=view.exhausted,
            revision=view.revision,
            next_run_time=timestamp_to_datetime(view, "next_run_time"),
            last_fired_time=timestamp_to_datetime(view, "last_fired_time"),
            create_time=timestamp_to_datetime(view, "create_time"),
            update_time=timestamp_to_datetime(view, "update_time"),
        )


@dataclass
class BulkScheduleOutcome:
    """What became of one schedule of a bulk pause or resume."""

    name: str
    ok: bool
    """Whether it was paused or resumed."""
    error: str = ""
    """Why not, when it was not."""

    @classmethod
    def from_proto(cls, outcome: schedule_pb2.BulkScheduleOutcome) -> BulkScheduleOutcome:
        """Builds the view from a ``baton.v1.BulkScheduleOutcome``."""
        return cls(name=outcome.name, ok=outcome.ok, error=outcome.error)


@dataclass
class ScheduleSlot:
    """One time a schedule fires."""

    time: _dt.datetime
    spec: str
    """The spec that produced it: a cron expression, or ``@every <n>s`` for an interval."""
    spec_index: int
    """Index of the spec (``cronExpression`` first, then ``cronSchedules``, then ``intervals``)."""

    @classmethod
    def from_proto(cls, slot: schedule_pb2.ScheduleSlot) -> ScheduleSlot:
        """Builds the view from a ``baton.v1.ScheduleSlot``."""
        return cls(
            time=slot.time.ToDatetime(tzinfo=_dt.timezone.utc),
            spec=slot.spec,
            spec_index=slot.spec_index,
        )


@dataclass
class SchedulePreview:
    """The slots a schedule definition or a cron expression fires in a range."""

    slots: list[ScheduleSlot]
    truncated: bool
    """True when more slots were left in the range."""
    zone_id: str
    """The zone the slots were computed in."""

    @classmethod
    def from_proto(cls, response: schedule_pb2.PreviewScheduleResponse) -> SchedulePreview:
        """Builds the view from a ``baton.v1.PreviewScheduleResponse``."""
        return cls(
            slots=[ScheduleSlot.from_proto(s) for s in response.slots],
            truncated=response.truncated,
            zone_id=response.zone_id,
        )


@dataclass
class ScheduleHistoryEntry:
    """One entry of a schedule's history."""

    event: dict[str, Any]
    """What happened: ``{"type": "STARTED", "workflowId", "kind", "shardIndex"}``,
    ``{"type": "RECORD", "outcome", "reason"}`` or ``{"type": "ALERT", "kind", "message"}``."""
    slot_time: _dt.datetime | None = None
    """The slot it is about; the time of the change for entries about the schedule as a whole."""
    record_time: _dt.datetime | None = None
    """When it was recorded."""

    @property
    def type(self) -> str:
        """The event's ``type`` (``STARTED``, ``RECORD``, ``ALERT``, ...); empty if it has none."""
        value = self.event.get("type")
        return value if isinstance(value, str) else ""

    @property
    def workflow_id(self) -> str:
        """The workflow a STARTED entry started; empty for other entries."""
        value = self.event.get("workflowId")
        return value if isinstance(value, str) else ""

    @classmethod
    def from_proto(cls, entry: schedule_pb2.ScheduleHistoryEntry) -> ScheduleHistoryEntry:
        """Builds the view from a ``baton.v1.ScheduleHistoryEntry``."""
        return cls(
            event=struct_to_dict(entry.event),
            slot_time=timestamp_to_datetime(entry, "slot_time"),
            record_time=timestamp_to_datetime(entry, "record_time"),
        )


class BulkOperation(str, enum.Enum):
    """An operation :meth:`baton.BatonClient.run_bulk_operation` applies to each execution."""

    PAUSE = "PAUSE"
    RESUME = "RESUME"
    RESTART = "RESTART"
    """Runs each again from the beginning (``use_latest_definitions`` applies)."""
    RETRY = "RETRY"
    TERMINATE = "TERMINATE"
    """Terminates each (``reason`` applies)."""
    REMOVE = "REMOVE"

    def to_proto(self) -> workflow_pb2.BulkOperation.ValueType:
        """Maps the enum to its ``baton.v1.BulkOperation`` number."""
        return workflow_pb2.BulkOperation.Value("BULK_OPERATION_" + self.value)


@dataclass
class BulkWorkflowOutcome:
    """What became of one execution of a bulk operation."""

    workflow_id: str
    ok: bool
    """Whether the operation succeeded for it."""
    code: str = ""
    """The gRPC status code name when it did not (for example ``NOT_FOUND``)."""
    message: str = ""
    """Why it did not."""

    @classmethod
    def from_proto(cls, result: workflow_pb2.BulkResult) -> BulkWorkflowOutcome:
        """Builds the view from a ``baton.v1.BulkResult``."""
        return cls(workflow_id=result.workflow_id, ok=result.ok, code=result.code, message=result.message)


@dataclass
class TaskPage:
    """One page of the task instances of an execution."""

    tasks: list[TaskInfo]
    total: int
    """How many tasks match over all pages."""
    next_offset: int
    """Offset of the next page; 0 when this page is the last."""


@dataclass
class SearchResult:
    """One page of a search: the total number of hits and the hits of this page.

    Each hit is a dict keyed by the field names of ``baton.v1.WorkflowSummary`` (for
    workflows) or ``baton.v1.TaskSummary`` (for tasks), with timestamps as datetimes,
    statuses as names and inputs and outputs as dicts.
    """

    total_hits: int
    results: list[dict[str, Any]]


@dataclass
class ImportOutcome:
    """What an import of archived executions did."""

    imported: int
    """Executions written."""
    already_present: int
    """Executions skipped because their id was stored already."""


@dataclass
class EventHandler:
    """A stored event handler."""

    name: str
    event: str
    """The event it handles, ``provider:queue``."""
    active: bool
    definition: dict[str, Any] = field(default_factory=dict)
    """The full handler in Conductor's JSON form (name, event, condition, actions, ...)."""

    @classmethod
    def from_proto(cls, info: metadata_pb2.EventHandlerInfo) -> EventHandler:
        """Builds the view from a ``baton.v1.EventHandlerInfo``."""
        return cls(name=info.name, event=info.event, active=info.active, definition=struct_to_dict(info.definition))


@dataclass
class LatencyQuantiles:
    """Quantiles of one latency in milliseconds, over the stretch of time the reading covers."""

    count: int = 0
    """Times measured; the quantiles are 0 when none was."""
    p50_ms: int = 0
    """Median."""
    p99_ms: int = 0
    """99th percentile."""
    max_ms: int = 0
    """Longest."""

    @classmethod
    def from_proto(cls, quantiles: monitor_pb2.LatencyQuantiles) -> LatencyQuantiles:
        """Builds the view from a ``baton.v1.LatencyQuantiles``."""
        return cls(
            count=quantiles.count,
            p50_ms=quantiles.p50_ms,
            p99_ms=quantiles.p99_ms,
            max_ms=quantiles.max_ms,
        )


@dataclass
class MetricsSample:
    """What happened on the server in one interval of its metrics history, and its queues at
    the interval's end."""

    at: _dt.datetime
    """End of the interval."""
    interval_ms: int
    """Length of the interval in milliseconds (the first runs from the server's start)."""
    workflows_started: int
    """Workflows started."""
    workflows_completed: int
    """Workflows that ended COMPLETED."""
    workflows_failed: int
    """Workflows that ended FAILED or TIMED_OUT."""
    workflows_terminated: int
    """Workflows terminated."""
    tasks_completed: int
    """Tasks that ended COMPLETED or COMPLETED_WITH_ERRORS."""
    tasks_failed: int
    """Tasks that ended FAILED, FAILED_WITH_TERMINAL_ERROR or TIMED_OUT."""
    queue_wait: LatencyQuantiles
    """Worker tasks' wait from ready to handed to a worker, over the interval."""
    run_time: LatencyQuantiles
    """Tasks' run time from started to ended, over the interval."""
    queue_depth: int
    """Tasks waiting in every ready queue at the end of the interval."""
    workers: int
    """Stream worker subscriptions at the end of the interval (one per worker and task type)."""

    @classmethod
    def from_proto(cls, sample: monitor_pb2.MetricsSample) -> MetricsSample:
        """Builds the view from a ``baton.v1.MetricsSample``."""
        return cls(
            at=sample.at.ToDatetime(tzinfo=_dt.timezone.utc),
            interval_ms=sample.interval_ms,
            workflows_started=sample.workflows_started,
            workflows_completed=sample.workflows_completed,
            workflows_failed=sample.workflows_failed,
            workflows_terminated=sample.workflows_terminated,
            tasks_completed=sample.tasks_completed,
            tasks_failed=sample.tasks_failed,
            queue_wait=LatencyQuantiles.from_proto(sample.queue_wait),
            run_time=LatencyQuantiles.from_proto(sample.run_time),
            queue_depth=sample.queue_depth,
            workers=sample.workers,
        )


@dataclass
class MetricsHistory:
    """The server's recent key figures: one :class:`MetricsSample` per interval, oldest first."""

    server_time: _dt.datetime
    """The server's clock when it answered."""
    sample_every_ms: int
    """Length of each sample's interval in milliseconds (ten seconds)."""
    samples: list[MetricsSample] = field(default_factory=list)
    """The samples, oldest first; empty until the first interval has ended."""

    @classmethod
    def from_proto(cls, response: monitor_pb2.GetMetricsHistoryResponse) -> MetricsHistory:
        """Builds the view from a ``baton.v1.GetMetricsHistoryResponse``."""
        return cls(
            server_time=response.server_time.ToDatetime(tzinfo=_dt.timezone.utc),
            sample_every_ms=response.sample_every_ms,
            samples=[MetricsSample.from_proto(s) for s in response.samples],
        )


class Role(str, enum.Enum):
    """What an API key may do."""

    UNSPECIFIED = "UNSPECIFIED"
    """Not set (an audit entry of a caller without a known key)."""
    ADMIN = "ADMIN"
    """Everything: definitions, keys, the audit log, and what every other role may do."""
    OPERATOR = "OPERATOR"
    """Starts and steers runs and schedules; reads everything but keys and the audit log."""
    WORKER = "WORKER"
    """Takes tasks and reports their results (the worker stream, polls, task updates)."""
    VIEWER = "VIEWER"
    """Reads; changes nothing."""

    @classmethod
    def parse(cls, value: Role | str) -> Role:
        """The role named by ``value``: a :class:`Role` or its name in any case
        (``"worker"``, ``"ADMIN"``).

        Raises:
            ValueError: no role has that name.
        """
        if isinstance(value, Role):
            return value
        try:
            return cls(str(value).strip().upper())
        except ValueError:
            names = ", ".join(r.value.lower() for r in cls if r is not cls.UNSPECIFIED)
            raise ValueError(f"unknown role {value!r}: expected one of {names}") from None

    @classmethod
    def from_proto(cls, value: int) -> Role:
        """Maps a ``baton.v1.Role`` number to the enum (UNSPECIFIED for numbers it does not know)."""
        try:
            name = admin_pb2.Role.Name(value)  # type: ignore[arg-type]
        except ValueError:
            return cls.UNSPECIFIED
        return cls(name.removeprefix("ROLE_"))

    def to_proto(self) -> admin_pb2.Role.ValueType:
        """Maps the enum to its ``baton.v1.Role`` number."""
        return admin_pb2.Role.Value("ROLE_" + self.value)


class AuditOutcome(str, enum.Enum):
    """How an audited request ended."""

    UNSPECIFIED = "UNSPECIFIED"
    """Not set."""
    OK = "OK"
    """Done."""
    DENIED = "DENIED"
    """Refused: no or bad credentials, or a role that does not allow it. Nothing was done."""
    FAILED = "FAILED"
    """Allowed, but it failed (not found, invalid, a wrong state...)."""

    @classmethod
    def parse(cls, value: AuditOutcome | str) -> AuditOutcome:
        """The outcome named by ``value``: an :class:`AuditOutcome` or its name in any case
        (``"denied"``).

        Raises:
            ValueError: no outcome has that name.
        """
        if isinstance(value, AuditOutcome):
            return value
        try:
            return cls(str(value).strip().upper())
        except ValueError:
            names = ", ".join(o.value.lower() for o in cls if o is not cls.UNSPECIFIED)
            raise ValueError(f"unknown audit outcome {value!r}: expected one of {names}") from None

    @classmethod
    def from_proto(cls, value: int) -> AuditOutcome:
        """Maps a ``baton.v1.AuditOutcome`` number to the enum (UNSPECIFIED for numbers it
        does not know)."""
        try:
            name = admin_pb2.AuditOutcome.Name(value)  # type: ignore[arg-type]
        except ValueError:
            return cls.UNSPECIFIED
        return cls(name.removeprefix("AUDIT_OUTCOME_"))

    def to_proto(self) -> admin_pb2.AuditOutcome.ValueType:
        """Maps the enum to its ``baton.v1.AuditOutcome`` number."""
        return admin_pb2.AuditOutcome.Value("AUDIT_OUTCOME_" + self.value)


@dataclass
class ApiKey:
    """An API key as the server stores it (never its secret)."""

    id: str
    """The key's id: public, Conductor's ``keyId``, the ``actor`` of its audit entries."""
    name: str
    """The name given when it was made."""
    role: Role
    """What it may do."""
    created_by: str
    """The id of the key that made it, or ``bootstrap``."""
    created_at: _dt.datetime | None = None
    """When it was made."""
    revoked_at: _dt.datetime | None = None
    """When it was revoked; None while it is live."""

    @property
    def revoked(self) -> bool:
        """True once the key was revoked: it and every token made from it are refused."""
        return self.revoked_at is not None

    @classmethod
    def from_proto(cls, key: admin_pb2.ApiKey) -> ApiKey:
        """Builds the view from a ``baton.v1.ApiKey``."""
        return cls(
            id=key.id,
            name=key.name,
            role=Role.from_proto(key.role),
            created_by=key.created_by,
            created_at=timestamp_to_datetime(key, "created_at"),
            revoked_at=timestamp_to_datetime(key, "revoked_at"),
        )


@dataclass
class NewApiKey:
    """An API key just made, with its text: the only time the server shows it.

    ``key_text`` and ``secret`` are left out of the dataclass's ``repr`` so that printing or
    logging the object does not give them away.
    """

    key: ApiKey
    """The stored key (id, name, role, ...)."""
    key_text: str = field(repr=False)
    """The whole key, ``bk_<id>_<secret>``: what a client or worker is given as ``api_key``
    (or ``BATON_API_KEY``)."""
    secret: str = field(repr=False)
    """The secret part alone: Conductor's ``keySecret``, with :attr:`id` as its ``keyId``."""

    @property
    def id(self) -> str:
        """The key's id (``key.id``)."""
        return self.key.id

    @classmethod
    def from_proto(cls, response: admin_pb2.CreateApiKeyResponse) -> NewApiKey:
        """Builds the view from a ``baton.v1.CreateApiKeyResponse``."""
        return cls(key=ApiKey.from_proto(response.key), key_text=response.key_text, secret=response.secret)


@dataclass
class AuditEvent:
    """One entry of the audit log: a request that changed something, or one that was refused.
    It never holds a secret or a request body."""

    seq: int
    """Its place in the log; later entries have larger ones (pass the last one of a page as
    ``before`` for the next page)."""
    time: _dt.datetime | None
    """When the request was answered."""
    actor: str
    """The caller's key id; ``anonymous`` without credentials."""
    actor_name: str
    """The key's name, when known."""
    role: Role
    """The caller's role; UNSPECIFIED when not known."""
    action: str
    """What was asked: the gRPC method (``baton.v1.WorkflowService/StartWorkflow``) or the
    HTTP method and path."""
    access: str
    """The kind of access it needed: ``public``, ``read``, ``operate``, ``work``, ``define`` or
    ``admin``."""
    remote: str
    """The caller's address."""
    outcome: AuditOutcome
    """How it ended."""
    status: str
    """The answer's status: a gRPC code name or an HTTP status number."""
    reason: str = ""
    """Why it was refused or failed, when known."""

    @classmethod
    def from_proto(cls, event: admin_pb2.AuditEvent) -> AuditEvent:
        """Builds the view from a ``baton.v1.AuditEvent``."""
        return cls(
            seq=event.seq,
            time=timestamp_to_datetime(event, "time"),
            actor=event.actor,
            actor_name=event.actor_name,
            role=Role.from_proto(event.role),
            action=event.action,
            access=event.access,
            remote=event.remote,
            outcome=AuditOutcome.from_proto(event.outcome),
            status=event.status,
            reason=event.reason,
        )
