package io.baton.conductorjava;

import static io.baton.conductorjava.Support.byRef;
import static io.baton.conductorjava.Support.only;
import static io.baton.conductorjava.Support.unique;
import static io.baton.conductorjava.Support.waitStatus;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.netflix.conductor.client.automator.TaskRunnerConfigurer;
import com.netflix.conductor.client.http.ConductorClient;
import com.netflix.conductor.client.http.MetadataClient;
import com.netflix.conductor.client.http.TaskClient;
import com.netflix.conductor.client.http.WorkflowClient;
import com.netflix.conductor.client.worker.Worker;
import com.netflix.conductor.common.metadata.tasks.Task;
import com.netflix.conductor.common.metadata.tasks.TaskDef;
import com.netflix.conductor.common.metadata.tasks.TaskExecLog;
import com.netflix.conductor.common.metadata.tasks.TaskResult;
import com.netflix.conductor.common.metadata.workflow.StartWorkflowRequest;
import com.netflix.conductor.common.metadata.workflow.SubWorkflowParams;
import com.netflix.conductor.common.metadata.workflow.WorkflowDef;
import com.netflix.conductor.common.metadata.workflow.WorkflowTask;
import com.netflix.conductor.common.run.Workflow;

/**
 * Workers run by the client's own TaskRunnerConfigurer drive a workflow through a FORK_JOIN
 * and its JOIN, a SWITCH, a SUB_WORKFLOW and a task that fails once and is retried by its
 * task definition.
 */
class WorkersTest {
    private static final String MAIN = "jv_workers_main";
    private static final String CHILD = "jv_workers_child";
    private static final String BROKEN_FLOW = "jv_workers_broken";
    private static final String PATIENT_FLOW = "jv_workers_patient";
    private static final String DOMAIN_FLOW = "jv_workers_domain";

    private static ConductorClient client;
    private static WorkflowClient workflows;
    private static TaskClient tasks;
    private static TaskRunnerConfigurer runner;
    /** How many times each worker ran, by task type. */
    private static final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
    /** How many times the patient worker saw each task id. */
    private static final Map<String, AtomicInteger> patientRuns = new ConcurrentHashMap<>();

    /** A worker that polls every 20 ms and answers with {@code body}. */
    private static final class FnWorker implements Worker {
        private final String taskType;
        private final Function<Task, TaskResult> body;

        FnWorker(String taskType, Function<Task, TaskResult> body) {
            this.taskType = taskType;
            this.body = body;
        }

        @Override
        public String getTaskDefName() {
            return taskType;
        }

        @Override
        public TaskResult execute(Task task) {
            runs.computeIfAbsent(taskType, k -> new AtomicInteger()).incrementAndGet();
            return body.apply(task);
        }

        @Override
        public String getIdentity() {
            return "jv-" + taskType;
        }

        @Override
        public int getPollingInterval() {
            return 20;
        }
    }

    private static TaskResult completed(Task task, Map<String, Object> output) {
        TaskResult r = new TaskResult(task);
        r.setStatus(TaskResult.Status.COMPLETED);
        r.setOutputData(new HashMap<>(output));
        return r;
    }

    private static int intInput(Task task, String key) {
        return ((Number) task.getInputData().get(key)).intValue();
    }

    private static List<Worker> workers() {
        List<Worker> list = new ArrayList<>();
        list.add(new FnWorker("jv_greet", t -> {
            String who = (String) t.getInputData().get("who");
            return completed(t, Map.of("greeting", "hello " + who)).log("greeted " + who);
        }));
        list.add(new FnWorker("jv_double", t -> completed(t, Map.of("doubled", 2 * intInput(t, "x")))));
        // Fails its first attempt; the task definition's retryCount brings a second one.
        list.add(new FnWorker("jv_flaky", t -> {
            if (t.getRetryCount() == 0) {
                TaskResult r = new TaskResult(t);
                r.setStatus(TaskResult.Status.FAILED);
                r.setReasonForIncompletion("first attempt fails on purpose");
                return r;
            }
            return completed(t, Map.of("attempt", t.getRetryCount(), "x", intInput(t, "x")));
        }));
        list.add(new FnWorker("jv_shout", t -> completed(t,
                Map.of("text", ((String) t.getInputData().get("text")).toUpperCase()))));
        list.add(new FnWorker("jv_whisper", t -> completed(t,
                Map.of("text", ((String) t.getInputData().get("text")).toLowerCase()))));
        list.add(new FnWorker("jv_triple", t -> completed(t, Map.of("tripled", 3 * intInput(t, "n")))));
        // Always fails; with `terminal` set it fails with a terminal error, which is not retried.
        list.add(new FnWorker("jv_broken", t -> {
            TaskResult r = new TaskResult(t);
            boolean terminal = Boolean.TRUE.equals(t.getInputData().get("terminal"));
            r.setStatus(terminal ? TaskResult.Status.FAILED_WITH_TERMINAL_ERROR : TaskResult.Status.FAILED);
            r.setReasonForIncompletion(terminal ? "broken for good" : "broken again");
            return r;
        }));
        // Asks to be called back once, a second later, before it completes.
        list.add(new FnWorker("jv_patient", t -> {
            int n = patientRuns.computeIfAbsent(t.getTaskId(), k -> new AtomicInteger()).incrementAndGet();
            if (n == 1) {
                TaskResult r = new TaskResult(t);
                r.setStatus(TaskResult.Status.IN_PROGRESS);
                r.setCallbackAfterSeconds(1);
                r.setOutputData(new HashMap<>(Map.of("executions", n)));
                return r;
            }
            return completed(t, Map.of("executions", n));
        }));
        // Polls only in the domain jv_blue (see withTaskToDomain below).
        list.add(new FnWorker("jv_domained", t -> completed(t, Map.of("domain", String.valueOf(t.getDomain())))));
        return list;
    }

    private static TaskDef taskDef(String name, int retryCount) {
        TaskDef def = new TaskDef(name);
        def.setRetryCount(retryCount);
        def.setRetryDelaySeconds(0);
        def.setResponseTimeoutSeconds(30);
        def.setTimeoutSeconds(60);
        return def;
    }

    private static WorkflowTask simple(String name, String ref, Map<String, Object> input) {
        WorkflowTask t = new WorkflowTask();
        t.setName(name);
        t.setTaskReferenceName(ref);
        t.setType("SIMPLE");
        t.setInputParameters(input);
        return t;
    }

    private static WorkflowDef mainFlow() {
        WorkflowTask greet = simple("jv_greet", "greet", Map.of("who", "${workflow.input.who}"));

        WorkflowTask fork = new WorkflowTask();
        fork.setName("fork");
        fork.setTaskReferenceName("fork");
        fork.setType("FORK_JOIN");
        fork.setForkTasks(List.of(
                List.of(simple("jv_double", "double", Map.of("x", "${workflow.input.x}"))),
                List.of(simple("jv_flaky", "flaky", Map.of("x", "${workflow.input.x}")))));
        WorkflowTask join = new WorkflowTask();
        join.setName("join");
        join.setTaskReferenceName("join");
        join.setType("JOIN");
        join.setJoinOn(List.of("double", "flaky"));

        WorkflowTask route = new WorkflowTask();
        route.setName("route");
        route.setTaskReferenceName("route");
        route.setType("SWITCH");
        route.setEvaluatorType("value-param");
        route.setExpression("mode");
        route.setInputParameters(Map.of("mode", "${workflow.input.mode}"));
        route.setDecisionCases(Map.of("loud",
                List.of(simple("jv_shout", "shout", Map.of("text", "${greet.output.greeting}")))));
        route.setDefaultCase(List.of(simple("jv_whisper", "whisper", Map.of("text", "${greet.output.greeting}"))));

        WorkflowTask child = new WorkflowTask();
        child.setName("child");
        child.setTaskReferenceName("child");
        child.setType("SUB_WORKFLOW");
        SubWorkflowParams params = new SubWorkflowParams();
        params.setName(CHILD);
        params.setVersion(1);
        child.setSubWorkflowParam(params);
        child.setInputParameters(Map.of("n", "${double.output.doubled}"));

        WorkflowDef def = new WorkflowDef();
        def.setName(MAIN);
        def.setVersion(1);
        def.setTasks(List.of(greet, fork, join, route, child));
        Map<String, Object> out = new HashMap<>();
        out.put("greeting", "${greet.output.greeting}");
        out.put("doubled", "${double.output.doubled}");
        out.put("attempt", "${flaky.output.attempt}");
        out.put("shouted", "${shout.output.text}");
        out.put("whispered", "${whisper.output.text}");
        out.put("tripled", "${child.output.tripled}");
        def.setOutputParameters(out);
        return def;
    }

    private static WorkflowDef childFlow() {
        WorkflowDef def = new WorkflowDef();
        def.setName(CHILD);
        def.setVersion(1);
        def.setTasks(List.of(simple("jv_triple", "triple", Map.of("n", "${workflow.input.n}"))));
        def.setOutputParameters(Map.of("tripled", "${triple.output.tripled}"));
        return def;
    }

    private static WorkflowDef brokenFlow() {
        WorkflowDef def = new WorkflowDef();
        def.setName(BROKEN_FLOW);
        def.setVersion(1);
        def.setTasks(List.of(simple("jv_broken", "broken", Map.of("terminal", "${workflow.input.terminal}"))));
        return def;
    }

    private static WorkflowDef singleTaskFlow(String name, String taskType, String ref) {
        WorkflowDef def = new WorkflowDef();
        def.setName(name);
        def.setVersion(1);
        def.setTasks(List.of(simple(taskType, ref, Map.of())));
        return def;
    }

    @BeforeAll
    static void setUp() {
        client = BatonServer.get().client();
        workflows = new WorkflowClient(client);
        tasks = new TaskClient(client);
        MetadataClient metadata = new MetadataClient(client);
        metadata.registerTaskDefs(List.of(
                taskDef("jv_greet", 0), taskDef("jv_double", 0), taskDef("jv_flaky", 1),
                taskDef("jv_shout", 0), taskDef("jv_whisper", 0), taskDef("jv_triple", 0),
                taskDef("jv_broken", 1), taskDef("jv_patient", 0), taskDef("jv_domained", 0)));
        metadata.updateWorkflowDefs(List.of(childFlow(), mainFlow(), brokenFlow(),
                singleTaskFlow(PATIENT_FLOW, "jv_patient", "patient"),
                singleTaskFlow(DOMAIN_FLOW, "jv_domained", "domained")));

        List<Worker> list = workers();
        runner = new TaskRunnerConfigurer.Builder(tasks, list)
                .withTaskThreadCount(list.stream().collect(Collectors.toMap(Worker::getTaskDefName, w -> 2)))
                .withTaskToDomain(Map.of("jv_domained", "jv_blue"))
                .withTaskPollTimeout(100)
                .withSleepWhenRetry(200)
                .withUpdateRetryCount(3)
                .withShutdownGracePeriodSeconds(1)
                .build();
        runner.init();
    }

    @AfterAll
    static void tearDown() {
        if (runner != null) {
            runner.shutdown();
        }
        client.shutdown();
    }

    private static String start(String name, Map<String, Object> input) {
        StartWorkflowRequest req = new StartWorkflowRequest();
        req.setName(name);
        req.setVersion(1);
        req.setCorrelationId(unique("jv_corr"));
        req.setInput(input);
        return workflows.startWorkflow(req);
    }

    @Test
    void forkSwitchSubWorkflowAndRetryRunToCompletion() {
        String loud = start(MAIN, Map.of("who", "Ada", "x", 5, "mode", "loud"));
        String quiet = start(MAIN, Map.of("who", "Grace", "x", 7, "mode", "quiet"));

        Workflow wf = waitStatus(workflows, loud, Workflow.WorkflowStatus.COMPLETED);
        Map<String, Object> out = wf.getOutput();
        assertEquals("hello Ada", out.get("greeting"));
        assertEquals(10, out.get("doubled"));
        assertEquals(1, out.get("attempt"));
        assertEquals("HELLO ADA", out.get("shouted"));
        assertEquals(30, out.get("tripled"));
        assertFalse(byRef(wf).containsKey("whisper"), "the default case must not run");

        // Every task of the run, in order, with the types Conductor gives them.
        assertEquals(List.of("greet", "fork", "double", "flaky", "join", "flaky", "route", "shout", "child"),
                wf.getTasks().stream().map(Task::getReferenceTaskName).collect(Collectors.toList()));
        Map<String, String> types = new HashMap<>();
        wf.getTasks().forEach(t -> types.put(t.getReferenceTaskName(), t.getTaskType()));
        assertEquals("JOIN", types.get("join"));
        assertEquals("SWITCH", types.get("route"));
        assertEquals("SUB_WORKFLOW", types.get("child"));
        assertEquals("jv_greet", types.get("greet"));

        // The worker's identity and its log travel with the result.
        Task greet = only(wf, "greet");
        assertEquals(Task.Status.COMPLETED, greet.getStatus());
        assertEquals("jv-jv_greet", greet.getWorkerId());
        assertEquals(Map.of("who", "Ada"), greet.getInputData());
        List<TaskExecLog> logs = tasks.getTaskLogs(greet.getTaskId());
        assertEquals(List.of("greeted Ada"), logs.stream().map(TaskExecLog::getLog).collect(Collectors.toList()));
        assertEquals(greet.getTaskId(), logs.get(0).getTaskId());

        // The flaky task failed once and its retry, scheduled from the task definition, passed.
        List<Task> flaky = byRef(wf).get("flaky");
        assertEquals(List.of(Task.Status.FAILED, Task.Status.COMPLETED),
                flaky.stream().map(Task::getStatus).collect(Collectors.toList()));
        assertEquals("first attempt fails on purpose", flaky.get(0).getReasonForIncompletion());
        assertEquals(0, flaky.get(0).getRetryCount());
        assertTrue(flaky.get(0).isRetried(), "the failed attempt is marked retried");
        assertEquals(1, flaky.get(1).getRetryCount());
        assertEquals(flaky.get(0).getTaskId(), flaky.get(1).getRetriedTaskId());
        assertNotEquals(flaky.get(0).getTaskId(), flaky.get(1).getTaskId());

        // The JOIN carries each branch's last output; the SWITCH names the case it took.
        Task join = only(wf, "join");
        assertEquals(Task.Status.COMPLETED, join.getStatus());
        assertEquals(Map.of("doubled", 10), join.getOutputData().get("double"));
        assertEquals(Map.of("attempt", 1, "x", 5), join.getOutputData().get("flaky"));
        assertEquals(List.of("loud"), only(wf, "route").getOutputData().get("evaluationResult"));

        // The sub-workflow is an execution of its own, linked to its parent.
        Task childTask = only(wf, "child");
        assertEquals(Task.Status.COMPLETED, childTask.getStatus());
        assertNotNull(childTask.getSubWorkflowId());
        Workflow child = workflows.getWorkflow(childTask.getSubWorkflowId(), true);
        assertEquals(CHILD, child.getWorkflowName());
        assertEquals(Workflow.WorkflowStatus.COMPLETED, child.getStatus());
        assertEquals(loud, child.getParentWorkflowId());
        assertEquals(Map.of("n", 10), child.getInput());
        assertEquals(Map.of("tripled", 30), child.getOutput());
        assertEquals(30, childTask.getOutputData().get("tripled"));

        // The other execution took the default case.
        Workflow other = waitStatus(workflows, quiet, Workflow.WorkflowStatus.COMPLETED);
        assertEquals("hello grace", other.getOutput().get("whispered"));
        assertEquals(14, other.getOutput().get("doubled"));
        assertEquals(42, other.getOutput().get("tripled"));
        assertFalse(byRef(other).containsKey("shout"), "the loud case must not run");
        assertEquals(List.of("quiet"), only(other, "route").getOutputData().get("evaluationResult"));

        // Read without tasks, the execution comes bare.
        Workflow bare = workflows.getWorkflow(loud, false);
        assertEquals(Workflow.WorkflowStatus.COMPLETED, bare.getStatus());
        assertTrue(bare.getTasks().isEmpty());
    }

    @Test
    void systemTaskInstancesAreNamedLikeConductor() {
        // Conductor gives the task instance of a FORK_JOIN the type FORK, and the instances of
        // FORK_JOIN, JOIN and SWITCH their type as taskDefName.
        String wid = start(MAIN, Map.of("who", "Fork", "x", 1, "mode", "loud"));
        Workflow wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.COMPLETED);
        Task fork = only(wf, "fork");
        assertEquals("FORK_JOIN", fork.getWorkflowTask().getType());
        assertAll(
                () -> assertEquals("FORK", fork.getTaskType(), "taskType of the fork"),
                () -> assertEquals("FORK", fork.getTaskDefName(), "taskDefName of the fork"),
                () -> assertEquals("JOIN", only(wf, "join").getTaskDefName(), "taskDefName of the join"),
                () -> assertEquals("SWITCH", only(wf, "route").getTaskDefName(), "taskDefName of the switch"));
    }

    @Test
    void inProgressWithCallbackIsPolledAgain() {
        String wid = start(PATIENT_FLOW, Map.of());
        Workflow wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.COMPLETED);
        Task t = only(wf, "patient");
        assertEquals(Task.Status.COMPLETED, t.getStatus());
        assertEquals(Map.of("executions", 2), t.getOutputData());
        assertEquals(2, t.getPollCount());
        assertEquals(2, patientRuns.get(t.getTaskId()).get(), "the same task came back to the worker");
        assertTrue(t.getEndTime() - t.getStartTime() >= 900,
                "the second execution waited for callbackAfterSeconds: " + (t.getEndTime() - t.getStartTime()) + " ms");
    }

    @Test
    void taskToDomainRoutesToTheWorkerOfThatDomain() {
        StartWorkflowRequest req = new StartWorkflowRequest();
        req.setName(DOMAIN_FLOW);
        req.setVersion(1);
        req.setTaskToDomain(Map.of("jv_domained", "jv_blue"));
        String wid = workflows.startWorkflow(req);
        Workflow wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.COMPLETED);
        assertEquals(Map.of("jv_domained", "jv_blue"), wf.getTaskToDomain());
        Task t = only(wf, "domained");
        assertEquals("jv_blue", t.getDomain());
        assertEquals(Map.of("domain", "jv_blue"), t.getOutputData());
    }

    @Test
    void inlineDefinitionRunsWithoutRegistration() {
        WorkflowDef def = new WorkflowDef();
        def.setName(unique("jv_inline"));
        def.setVersion(1);
        def.setTasks(List.of(simple("jv_double", "double", Map.of("x", "${workflow.input.x}"))));
        def.setOutputParameters(Map.of("doubled", "${double.output.doubled}"));
        StartWorkflowRequest req = new StartWorkflowRequest();
        req.setName(def.getName());
        req.setWorkflowDef(def);
        req.setInput(Map.of("x", 21));
        String wid = workflows.startWorkflow(req);
        Workflow wf = waitStatus(workflows, wid, Workflow.WorkflowStatus.COMPLETED);
        assertEquals(Map.of("doubled", 42), wf.getOutput());
        assertEquals(def.getName(), wf.getWorkflowName());
    }

    @Test
    void failuresExhaustRetriesAndTerminalErrorsAreNotRetried() {
        int before = runs.getOrDefault("jv_broken", new AtomicInteger()).get();
        String retried = start(BROKEN_FLOW, Map.of("terminal", false));
        Workflow wf = waitStatus(workflows, retried, Workflow.WorkflowStatus.FAILED);
        List<Task> attempts = byRef(wf).get("broken");
        assertEquals(List.of(Task.Status.FAILED, Task.Status.FAILED),
                attempts.stream().map(Task::getStatus).collect(Collectors.toList()));
        assertEquals(List.of(0, 1), attempts.stream().map(Task::getRetryCount).collect(Collectors.toList()));
        assertTrue(wf.getReasonForIncompletion().contains("broken again"), wf.getReasonForIncompletion());
        assertTrue(wf.getFailedReferenceTaskNames().contains("broken"));

        String terminal = start(BROKEN_FLOW, Map.of("terminal", true));
        wf = waitStatus(workflows, terminal, Workflow.WorkflowStatus.FAILED);
        Task once = only(wf, "broken");
        assertEquals(Task.Status.FAILED_WITH_TERMINAL_ERROR, once.getStatus());
        assertEquals("broken for good", once.getReasonForIncompletion());
        assertEquals(before + 3, runs.get("jv_broken").get());
    }
}
