package io.baton.conductorjava;

import static io.baton.conductorjava.Support.byRef;
import static io.baton.conductorjava.Support.httpStatusOf;
import static io.baton.conductorjava.Support.only;
import static io.baton.conductorjava.Support.unique;
import static io.baton.conductorjava.Support.waitFor;
import static io.baton.conductorjava.Support.waitStatus;
import static io.baton.conductorjava.Support.waitTask;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.netflix.conductor.client.http.ConductorClient;
import com.netflix.conductor.client.http.MetadataClient;
import com.netflix.conductor.client.http.TaskClient;
import com.netflix.conductor.client.http.WorkflowClient;
import com.netflix.conductor.common.metadata.tasks.Task;
import com.netflix.conductor.common.metadata.tasks.TaskDef;
import com.netflix.conductor.common.metadata.tasks.TaskExecLog;
import com.netflix.conductor.common.metadata.tasks.TaskResult;
import com.netflix.conductor.common.metadata.workflow.IdempotencyStrategy;
import com.netflix.conductor.common.metadata.workflow.RerunWorkflowRequest;
import com.netflix.conductor.common.metadata.workflow.StartWorkflowRequest;
import com.netflix.conductor.common.metadata.workflow.WorkflowDef;
import com.netflix.conductor.common.metadata.workflow.WorkflowTask;
import com.netflix.conductor.common.model.BulkResponse;
import com.netflix.conductor.common.run.Workflow;

import io.orkes.conductor.client.http.OrkesTaskClient;
import io.orkes.conductor.client.http.OrkesWorkflowClient;

/**
 * Starts, reads and every operator command. The workflow waits for a signal (a WAIT task
 * completed by reference name) and then for a worker task that the test polls and reports
 * itself, so each step is in the test's hands.
 */
class LifecycleTest {
    private static final String FLOW = "jv_manual_flow";
    private static final String MANUAL = "jv_manual";

    private static ConductorClient client;
    private static WorkflowClient workflows;
    private static TaskClient tasks;
    private static OrkesTaskClient refTasks;
    private static OrkesWorkflowClient bulk;

    @BeforeAll
    static void setUp() {
        client = BatonServer.get().client();
        workflows = new WorkflowClient(client);
        tasks = new TaskClient(client);
        refTasks = new OrkesTaskClient(client);
        bulk = new OrkesWorkflowClient(client);

        MetadataClient metadata = new MetadataClient(client);
        TaskDef manual = new TaskDef(MANUAL);
        manual.setRetryCount(0);
        manual.setResponseTimeoutSeconds(60);
        manual.setTimeoutSeconds(0);
        metadata.registerTaskDefs(List.of(manual));

        WorkflowTask approval = new WorkflowTask();
        approval.setName("approval");
        approval.setTaskReferenceName("approval");
        approval.setType("WAIT");
        WorkflowTask work = new WorkflowTask();
        work.setName(MANUAL);
        work.setTaskReferenceName("manual");
        work.setType("SIMPLE");
        work.setInputParameters(Map.of("approved", "${approval.output.approved}", "who", "${workflow.input.who}"));
        WorkflowDef def = new WorkflowDef();
        def.setName(FLOW);
        def.setVersion(1);
        def.setDescription("waits for approval, then for a worker");
        def.setTasks(List.of(approval, work));
        def.setOutputParameters(Map.of("approved", "${approval.output.approved}", "result", "${manual.output.result}"));
        metadata.updateWorkflowDefs(List.of(def));
    }

    @AfterAll
    static void tearDown() {
        bulk.close();
        client.shutdown();
    }

    private static String start(String who) {
        StartWorkflowRequest req = new StartWorkflowRequest();
        req.setName(FLOW);
        req.setVersion(1);
        req.setInput(Map.of("who", who));
        return workflows.startWorkflow(req);
    }

    /** Polls jv_manual until the task of execution {@code wid} comes; returns it. */
    private static Task pollOne(String wid, String worker) {
        return waitFor("a " + MANUAL + " task of " + wid, () -> {
            for (Task t : tasks.batchPollTasksByTaskType(MANUAL, worker, 1, 200)) {
                if (!t.getWorkflowInstanceId().equals(wid)) {
                    fail("polled a task of another execution: " + t.getWorkflowInstanceId());
                }
                return t;
            }
            return null;
        });
    }

    private static void report(Task task, TaskResult.Status status, Map<String, Object> output, String reason) {
        TaskResult r = new TaskResult();
        r.setWorkflowInstanceId(task.getWorkflowInstanceId());
        r.setTaskId(task.getTaskId());
        r.setStatus(status);
        r.setOutputData(output == null ? new HashMap<>() : new HashMap<>(output));
        r.setReasonForIncompletion(reason);
        r.setWorkerId("tester");
        tasks.updateTask(r);
    }

    private static void approve(String wid) {
        waitTask(workflows, wid, "approval", Task.Status.IN_PROGRESS);
        refTasks.updateTask(wid, "approval", TaskResult.Status.COMPLETED, Map.of("approved", true));
    }

    private static Workflow approveAndFinish(String wid, Object result) {
        approve(wid);
        report(pollOne(wid, "tester"), TaskResult.Status.COMPLETED, Map.of("result", result), null);
        return waitStatus(workflows, wid, Workflow.WorkflowStatus.COMPLETED);
    }

    private static Workflow.WorkflowStatus statusOf(String wid) {
        return workflows.getWorkflow(wid, false).getStatus();
    }

    @Test
    void startRequestCarriesCorrelationPriorityAndIdempotencyKey() {
        String cid = unique("jv_corr");
        String key = unique("jv_idem");
        StartWorkflowRequest req = new StartWorkflowRequest();
        req.setName(FLOW);
        req.setVersion(1);
        req.setCorrelationId(cid);
        req.setPriority(7);
        req.setInput(Map.of("who", "ada"));
        req.setIdempotencyKey(key);
        req.setIdempotencyStrategy(IdempotencyStrategy.RETURN_EXISTING);
        String wid = workflows.startWorkflow(req);
        assertEquals(wid, workflows.startWorkflow(req), "the same key returns the running execution");

        Workflow wf = workflows.getWorkflow(wid, true);
        assertEquals(wid, wf.getWorkflowId());
        assertEquals(FLOW, wf.getWorkflowName());
        assertEquals(1, wf.getWorkflowVersion());
        assertEquals(Workflow.WorkflowStatus.RUNNING, wf.getStatus());
        assertEquals(cid, wf.getCorrelationId());
        assertEquals(7, wf.getPriority());
        assertEquals(key, wf.getIdempotencyKey());
        assertEquals(Map.of("who", "ada"), wf.getInput());
        assertTrue(wf.getCreateTime() > 0);
        assertTrue(workflows.getRunningWorkflow(FLOW, 1).contains(wid));

        // The FAIL strategy refuses a key already used; an unknown definition is 404.
        req.setIdempotencyStrategy(IdempotencyStrategy.FAIL);
        assertEquals(409, httpStatusOf(() -> workflows.startWorkflow(req)));
        StartWorkflowRequest missing = new StartWorkflowRequest();
        missing.setName(unique("jv_missing"));
        assertEquals(404, httpStatusOf(() -> workflows.startWorkflow(missing)));

        // The task instance carries the workflow's priority and correlation id.
        Task approval = waitTask(workflows, wid, "approval", Task.Status.IN_PROGRESS);
        assertEquals(7, approval.getWorkflowPriority());
        assertEquals(cid, approval.getCorrelationId());
        assertEquals("WAIT", approval.getTaskType());
        workflows.terminateWorkflow(wid, "done with it");
        assertEquals(Workflow.WorkflowStatus.TERMINATED, statusOf(wid));
        assertEquals(404, httpStatusOf(() -> workflows.getWorkflow(unique("missing"), true)));
    }

    @Test
    void readWithoutTasksStillNamesTheWorkflow() {
        // The client derives workflowName and workflowVersion from the execution's
        // workflowDefinition, so it must come with every read, tasks or not.
        String wid = start("bare");
        Workflow bare = workflows.getWorkflow(wid, false);
        assertTrue(bare.getTasks().isEmpty());
        assertNotNull(bare.getWorkflowDefinition(), "workflowDefinition is missing without tasks");
        assertEquals(FLOW, bare.getWorkflowName());
        assertEquals(1, bare.getWorkflowVersion());
        workflows.terminateWorkflow(wid, "done");
    }

    @Test
    void byCorrelationId() {
        String cid = unique("jv_corr");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            StartWorkflowRequest req = new StartWorkflowRequest();
            req.setName(FLOW);
            req.setCorrelationId(cid);
            req.setInput(Map.of("who", "c" + i));
            ids.add(workflows.startWorkflow(req));
        }
        waitTask(workflows, ids.get(0), "approval", Task.Status.IN_PROGRESS);
        workflows.terminateWorkflow(ids.get(0), "closed");

        List<Workflow> all = workflows.getWorkflows(FLOW, cid, true, true);
        assertEquals(Set.copyOf(ids), all.stream().map(Workflow::getWorkflowId).collect(Collectors.toSet()));
        assertTrue(all.stream().allMatch(w -> cid.equals(w.getCorrelationId())));
        assertTrue(all.stream().allMatch(w -> !w.getTasks().isEmpty()), "tasks were asked for");
        List<Workflow> open = workflows.getWorkflows(FLOW, cid, false, false);
        assertEquals(List.of(ids.get(1)), open.stream().map(Workflow::getWorkflowId).collect(Collectors.toList()));
        assertTrue(workflows.getWorkflows(FLOW, unique("nobody"), true, false).isEmpty());
        workflows.terminateWorkflow(ids.get(1), "done");
    }

    @Test
    void waitTaskByReferenceThenWorkerTaskWithLogs() {
        String wid = start("ada");
        waitTask(workflows, wid, "approval", Task.Status.IN_PROGRESS);

        // Complete the WAIT task by workflow id and reference name.
        refTasks.updateTask(wid, "approval", TaskResult.Status.COMPLETED, Map.of("approved", true));
        Task approval = only(workflows.getWorkflow(wid, true), "approval");
        assertEquals(Task.Status.COMPLETED, approval.getStatus());
        assertEquals(Map.of("approved", true), approval.getOutputData());
        waitTask(workflows, wid, "manual", Task.Status.SCHEDULED);
        waitFor("jv_manual queued", () -> tasks.getQueueSizeForTask(MANUAL) == 1);

        Task t = pollOne(wid, "poller-7");
        assertEquals(Task.Status.IN_PROGRESS, t.getStatus());
        assertEquals(Map.of("approved", true, "who", "ada"), t.getInputData());
        assertEquals("manual", t.getReferenceTaskName());
        assertEquals(0, tasks.getQueueSizeForTask(MANUAL));
        assertEquals("poller-7", tasks.getTaskDetails(t.getTaskId()).getWorkerId());
        assertTrue(tasks.getPollData(MANUAL).stream()
                .anyMatch(p -> "poller-7".equals(p.getWorkerId()) && p.getLastPollTime() > 0));

        // Task logs: add two lines, read them back in order.
        tasks.logMessageForTask(t.getTaskId(), "first line");
        tasks.logMessageForTask(t.getTaskId(), "second line");
        List<TaskExecLog> logs = tasks.getTaskLogs(t.getTaskId());
        assertEquals(List.of("first line", "second line"),
                logs.stream().map(TaskExecLog::getLog).collect(Collectors.toList()));
        assertTrue(logs.stream().allMatch(l -> t.getTaskId().equals(l.getTaskId()) && l.getCreatedTime() > 0));

        report(t, TaskResult.Status.COMPLETED, Map.of("result", 42), null);
        Workflow wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.COMPLETED);
        assertEquals(Map.of("approved", true, "result", 42), wf.getOutput());
        assertEquals(List.of(Task.Status.COMPLETED, Task.Status.COMPLETED),
                wf.getTasks().stream().map(Task::getStatus).collect(Collectors.toList()));
        assertTrue(wf.getEndTime() >= wf.getCreateTime());
        // Reporting again on an ended task is refused.
        assertTrue(httpStatusOf(() -> report(t, TaskResult.Status.FAILED, null, "too late")) >= 400);
    }

    @Test
    void waitTaskByReferenceAnsweringTheWorkflow() {
        String wid = start("sync");
        waitTask(workflows, wid, "approval", Task.Status.IN_PROGRESS);
        Workflow wf = refTasks.updateTaskSync(wid, "approval", TaskResult.Status.COMPLETED, Map.of("approved", false));
        assertEquals(wid, wf.getWorkflowId());
        assertEquals(Task.Status.COMPLETED, only(wf, "approval").getStatus());
        assertEquals(Map.of("approved", false), only(wf, "approval").getOutputData());
        Task t = pollOne(wid, "tester");
        assertEquals(false, t.getInputData().get("approved"));
        workflows.terminateWorkflow(wid, "done");
    }

    @Test
    void pauseHoldsTheNextTaskUntilResume() {
        String wid = start("paused");
        waitTask(workflows, wid, "approval", Task.Status.IN_PROGRESS);
        workflows.pauseWorkflow(wid);
        assertEquals(Workflow.WorkflowStatus.PAUSED, statusOf(wid));

        // A signal while paused completes the WAIT task, but nothing new is scheduled.
        refTasks.updateTask(wid, "approval", TaskResult.Status.COMPLETED, Map.of("approved", true));
        workflows.runDecider(wid);
        Workflow wf = workflows.getWorkflow(wid, true);
        assertEquals(Workflow.WorkflowStatus.PAUSED, wf.getStatus());
        assertEquals(Task.Status.COMPLETED, only(wf, "approval").getStatus());
        assertFalse(byRef(wf).containsKey("manual"), "no task is scheduled while paused: " + byRef(wf).keySet());

        workflows.resumeWorkflow(wid);
        assertEquals(Workflow.WorkflowStatus.RUNNING, statusOf(wid));
        Task t = pollOne(wid, "tester");
        report(t, TaskResult.Status.COMPLETED, Map.of("result", "after resume"), null);
        assertEquals("after resume", waitStatus(workflows, wid, Workflow.WorkflowStatus.COMPLETED)
                .getOutput().get("result"));
        // A finished execution can be neither paused nor resumed.
        assertTrue(httpStatusOf(() -> workflows.pauseWorkflow(wid)) >= 400);
    }

    @Test
    void terminateThenRestart() {
        String wid = start("t");
        waitTask(workflows, wid, "approval", Task.Status.IN_PROGRESS);
        workflows.terminateWorkflow(wid, "operator stop");
        Workflow wf = workflows.getWorkflow(wid, true);
        assertEquals(Workflow.WorkflowStatus.TERMINATED, wf.getStatus());
        assertTrue(wf.getReasonForIncompletion().contains("operator stop"), wf.getReasonForIncompletion());
        Task canceled = only(wf, "approval");
        assertEquals(Task.Status.CANCELED, canceled.getStatus());
        assertEquals(409, httpStatusOf(() -> workflows.terminateWorkflow(wid, "again")));

        workflows.restart(wid, false);
        wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.RUNNING);
        assertEquals(List.of("approval"), wf.getTasks().stream().map(Task::getReferenceTaskName).collect(Collectors.toList()));
        // The restart begins again from the first task, as a new task instance.
        Task fresh = waitTask(workflows, wid, "approval", Task.Status.IN_PROGRESS);
        assertNotEquals(canceled.getTaskId(), fresh.getTaskId());
        assertEquals("done", approveAndFinish(wid, "done").getOutput().get("result"));
    }

    @Test
    void retryAfterFailure() {
        String wid = start("r");
        approve(wid);
        Task first = pollOne(wid, "tester");
        report(first, TaskResult.Status.FAILED, null, "worker gave up");
        Workflow wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.FAILED);
        assertTrue(wf.getReasonForIncompletion().contains("worker gave up"), wf.getReasonForIncompletion());
        assertEquals(Set.of("manual"), wf.getFailedReferenceTaskNames());

        workflows.retryLastFailedTask(wid);
        wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.RUNNING);
        assertEquals(List.of(Task.Status.FAILED, Task.Status.SCHEDULED),
                byRef(wf).get("manual").stream().map(Task::getStatus).collect(Collectors.toList()));
        assertEquals(Task.Status.COMPLETED, only(wf, "approval").getStatus());
        Task second = pollOne(wid, "tester");
        assertNotEquals(first.getTaskId(), second.getTaskId());
        report(second, TaskResult.Status.COMPLETED, Map.of("result", "second time"), null);
        assertEquals("second time", waitStatus(workflows, wid, Workflow.WorkflowStatus.COMPLETED)
                .getOutput().get("result"));
    }

    @Test
    void rerunFromTaskAndFromStart() {
        String wid = start("first");
        approveAndFinish(wid, "one");

        // From a task: the tasks before it keep their outcome, it runs again with new input.
        Task manual = only(workflows.getWorkflow(wid, true), "manual");
        RerunWorkflowRequest fromTask = new RerunWorkflowRequest();
        fromTask.setReRunFromWorkflowId(wid);
        fromTask.setReRunFromTaskId(manual.getTaskId());
        fromTask.setTaskInput(Map.of("approved", "again", "who", "rerun"));
        assertEquals(wid, workflows.rerunWorkflow(wid, fromTask));
        Task t = pollOne(wid, "tester");
        assertEquals(Map.of("approved", "again", "who", "rerun"), t.getInputData());
        assertEquals(Task.Status.COMPLETED, only(workflows.getWorkflow(wid, true), "approval").getStatus());
        report(t, TaskResult.Status.COMPLETED, Map.of("result", "two"), null);
        assertEquals("two", waitStatus(workflows, wid, Workflow.WorkflowStatus.COMPLETED).getOutput().get("result"));

        // From the start, with new workflow input.
        RerunWorkflowRequest fromStart = new RerunWorkflowRequest();
        fromStart.setReRunFromWorkflowId(wid);
        fromStart.setWorkflowInput(Map.of("who", "second"));
        assertEquals(wid, workflows.rerunWorkflow(wid, fromStart));
        Workflow wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.RUNNING);
        assertEquals(Map.of("who", "second"), wf.getInput());
        wf = approveAndFinish(wid, "three");
        List<Task> runs = byRef(wf).get("manual");
        assertEquals("second", runs.get(runs.size() - 1).getInputData().get("who"));
        assertEquals("three", wf.getOutput().get("result"));
    }

    @Test
    void bulkOperations() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(start("bulk" + i));
        }
        for (String wid : ids) {
            waitTask(workflows, wid, "approval", Task.Status.IN_PROGRESS);
        }
        String missing = unique("missing");
        List<String> withMissing = new ArrayList<>(ids);
        withMissing.add(missing);

        BulkResponse r = bulk.pauseWorkflow(withMissing);
        assertEquals(Set.copyOf(ids), Set.copyOf(r.getBulkSuccessfulResults()));
        assertEquals(Set.of(missing), r.getBulkErrorResults().keySet());
        assertStatuses(ids, Workflow.WorkflowStatus.PAUSED);

        r = bulk.resumeWorkflow(ids);
        assertEquals(Set.copyOf(ids), Set.copyOf(r.getBulkSuccessfulResults()));
        assertTrue(r.getBulkErrorResults().isEmpty());
        assertStatuses(ids, Workflow.WorkflowStatus.RUNNING);

        r = workflows.terminateWorkflows(ids, "bulk stop");
        assertEquals(Set.copyOf(ids), Set.copyOf(r.getBulkSuccessfulResults()));
        assertStatuses(ids, Workflow.WorkflowStatus.TERMINATED);
        assertTrue(workflows.getWorkflow(ids.get(0), false).getReasonForIncompletion().contains("bulk stop"));

        r = bulk.restartWorkflow(ids, false);
        assertEquals(Set.copyOf(ids), Set.copyOf(r.getBulkSuccessfulResults()));
        assertStatuses(ids, Workflow.WorkflowStatus.RUNNING);

        // Fail each through its WAIT task, then retry them all.
        for (String wid : ids) {
            waitTask(workflows, wid, "approval", Task.Status.IN_PROGRESS);
            refTasks.updateTask(wid, "approval", TaskResult.Status.FAILED, Map.of());
            waitStatus(workflows, wid, Workflow.WorkflowStatus.FAILED);
        }
        r = bulk.retryWorkflow(ids);
        assertEquals(Set.copyOf(ids), Set.copyOf(r.getBulkSuccessfulResults()));
        for (String wid : ids) {
            Workflow wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.RUNNING);
            assertEquals(List.of(Task.Status.FAILED, Task.Status.IN_PROGRESS),
                    byRef(wf).get("approval").stream().map(Task::getStatus).collect(Collectors.toList()));
        }
        workflows.terminateWorkflows(ids, "cleanup");
    }

    private static void assertStatuses(List<String> ids, Workflow.WorkflowStatus status) {
        assertEquals(ids.stream().map(x -> status).collect(Collectors.toList()),
                ids.stream().map(LifecycleTest::statusOf).collect(Collectors.toList()));
    }

    @Test
    void skipTaskAheadOfTime() {
        // A task not yet scheduled is marked SKIPPED; the workflow passes over it.
        String wid = start("skipped");
        waitTask(workflows, wid, "approval", Task.Status.IN_PROGRESS);
        workflows.skipTaskFromWorkflow(wid, "manual");
        approve(wid);
        Workflow wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.COMPLETED);
        assertEquals(Task.Status.SKIPPED, only(wf, "manual").getStatus());
        assertEquals(Task.Status.COMPLETED, only(wf, "approval").getStatus());
    }

    @Test
    void removeOne() {
        String wid = start("gone");
        workflows.terminateWorkflow(wid, "remove me");
        workflows.deleteWorkflow(wid, false);
        assertEquals(404, httpStatusOf(() -> workflows.getWorkflow(wid, true)));
    }
}
