package io.baton.conductorjava;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.junit.jupiter.api.function.Executable;

import com.netflix.conductor.client.exception.ConductorClientException;
import com.netflix.conductor.client.http.WorkflowClient;
import com.netflix.conductor.common.metadata.tasks.Task;
import com.netflix.conductor.common.run.Workflow;

/** Waiting with deadlines, and small helpers shared by the tests. */
final class Support {
    static final Duration DEFAULT_WAIT = Duration.ofSeconds(20);

    private Support() {}

    /** A name no other test uses. */
    static String unique(String prefix) {
        return prefix + "_" + UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * Calls {@code check} until it returns something other than null or false, or the deadline
     * passes; returns that value, or fails naming {@code what} and the last value seen.
     */
    static <T> T waitFor(String what, Supplier<T> check, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        T last;
        while (true) {
            last = check.get();
            if (last != null && !Boolean.FALSE.equals(last)) {
                return last;
            }
            if (System.nanoTime() >= deadline) {
                return fail("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return fail("interrupted waiting for " + what);
            }
        }
    }

    static <T> T waitFor(String what, Supplier<T> check) {
        return waitFor(what, check, DEFAULT_WAIT);
    }

    /** Polls the execution until its status is {@code status}; returns it with its tasks. */
    static Workflow waitStatus(WorkflowClient workflows, String workflowId, Workflow.WorkflowStatus status) {
        AtomicReference<Workflow.WorkflowStatus> seen = new AtomicReference<>();
        long deadline = System.nanoTime() + DEFAULT_WAIT.toNanos();
        while (true) {
            Workflow wf = workflows.getWorkflow(workflowId, true);
            seen.set(wf.getStatus());
            if (wf.getStatus() == status) {
                return wf;
            }
            if (System.nanoTime() >= deadline) {
                return fail("workflow " + workflowId + " is " + seen.get() + ", not " + status
                        + ", after " + DEFAULT_WAIT.toSeconds() + " s");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return fail("interrupted");
            }
        }
    }

    /** Waits until the latest instance of the task {@code ref} has {@code status}; returns it. */
    static Task waitTask(WorkflowClient workflows, String workflowId, String ref, Task.Status status) {
        return waitFor(ref + " of " + workflowId + " to be " + status, () -> {
            List<Task> got = byRef(workflows.getWorkflow(workflowId, true)).get(ref);
            if (got == null) {
                return null;
            }
            Task latest = got.get(got.size() - 1);
            return latest.getStatus() == status ? latest : null;
        });
    }

    /** The execution's task instances grouped by reference name, in scheduling order. */
    static Map<String, List<Task>> byRef(Workflow wf) {
        Map<String, List<Task>> out = new LinkedHashMap<>();
        for (Task t : wf.getTasks()) {
            out.computeIfAbsent(t.getReferenceTaskName(), k -> new ArrayList<>()).add(t);
        }
        return out;
    }

    /** The only instance of the task {@code ref}. */
    static Task only(Workflow wf, String ref) {
        List<Task> got = byRef(wf).get(ref);
        if (got == null || got.size() != 1) {
            return fail("expected one instance of " + ref + ", got " + got);
        }
        return got.get(0);
    }

    /** Runs {@code call}, which must fail with an HTTP error; returns the status code. */
    static int httpStatusOf(Executable call) {
        return assertThrows(ConductorClientException.class, call).getStatusCode();
    }
}
