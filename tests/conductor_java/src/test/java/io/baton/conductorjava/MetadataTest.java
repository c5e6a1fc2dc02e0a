package io.baton.conductorjava;

import static io.baton.conductorjava.Support.httpStatusOf;
import static io.baton.conductorjava.Support.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.netflix.conductor.client.http.ConductorClient;
import com.netflix.conductor.client.http.MetadataClient;
import com.netflix.conductor.common.metadata.tasks.TaskDef;
import com.netflix.conductor.common.metadata.workflow.WorkflowDef;
import com.netflix.conductor.common.metadata.workflow.WorkflowTask;

/** Task and workflow definitions through MetadataClient. */
class MetadataTest {
    private static ConductorClient client;
    private static MetadataClient metadata;

    @BeforeAll
    static void connect() {
        client = BatonServer.get().client();
        metadata = new MetadataClient(client);
    }

    @AfterAll
    static void disconnect() {
        client.shutdown();
    }

    private static WorkflowDef flow(String name, int version, String description) {
        WorkflowTask step = new WorkflowTask();
        step.setName("jv_meta_step");
        step.setTaskReferenceName("step");
        step.setType("SIMPLE");
        step.setInputParameters(Map.of("who", "${workflow.input.who}"));
        WorkflowDef def = new WorkflowDef();
        def.setName(name);
        def.setVersion(version);
        def.setDescription(description);
        def.setTasks(List.of(step));
        def.setOutputParameters(Map.of("said", "${step.output.said}"));
        return def;
    }

    @Test
    void taskDefinitionsRegisterWithoutOwnerEmail() {
        String name = unique("jv_meta_task");
        TaskDef def = new TaskDef(name);
        def.setRetryCount(2);
        def.setRetryDelaySeconds(1);
        def.setResponseTimeoutSeconds(30);
        def.setTimeoutSeconds(120);
        assertNull(def.getOwnerEmail());
        metadata.registerTaskDefs(List.of(def));

        TaskDef got = metadata.getTaskDef(name);
        assertEquals(name, got.getName());
        assertEquals(2, got.getRetryCount());
        assertEquals(1, got.getRetryDelaySeconds());
        assertEquals(30, got.getResponseTimeoutSeconds());
        assertEquals(120, got.getTimeoutSeconds());
        assertEquals(TaskDef.RetryLogic.FIXED, got.getRetryLogic());

        got.setDescription("changed by the Java client");
        got.setRetryCount(4);
        metadata.updateTaskDef(got);
        TaskDef updated = metadata.getTaskDef(name);
        assertEquals("changed by the Java client", updated.getDescription());
        assertEquals(4, updated.getRetryCount());
        assertTrue(metadata.getAllTaskDefs().stream().anyMatch(d -> d.getName().equals(name)));

        metadata.unregisterTaskDef(name);
        assertEquals(404, httpStatusOf(() -> metadata.getTaskDef(name)));
        // Updating a definition that does not exist is refused.
        assertEquals(404, httpStatusOf(() -> metadata.updateTaskDef(new TaskDef(name))));
    }

    @Test
    void workflowDefinitionsVersionsAndRemoval() {
        String name = unique("jv_meta_flow");
        metadata.registerWorkflowDef(flow(name, 1, "first"));
        WorkflowDef got = metadata.getWorkflowDef(name, null);
        assertEquals(1, got.getVersion());
        assertEquals("first", got.getDescription());
        assertEquals("step", got.getTasks().get(0).getTaskReferenceName());
        assertEquals("${step.output.said}", got.getOutputParameters().get("said"));

        // Registering an existing version again is refused; PUT of a list stores new versions.
        assertEquals(409, httpStatusOf(() -> metadata.registerWorkflowDef(flow(name, 1, "again"))));
        metadata.updateWorkflowDefs(List.of(flow(name, 1, "overwritten"), flow(name, 2, "second")));
        assertEquals("overwritten", metadata.getWorkflowDef(name, 1).getDescription());
        assertEquals(2, metadata.getWorkflowDef(name, null).getVersion());

        Map<String, Integer> latest = metadata.getAllWorkflowsWithLatestVersions().stream()
                .collect(Collectors.toMap(WorkflowDef::getName, WorkflowDef::getVersion));
        assertEquals(2, latest.get(name));

        metadata.unregisterWorkflowDef(name, 2);
        assertEquals(1, metadata.getWorkflowDef(name, null).getVersion());
        assertEquals(404, httpStatusOf(() -> metadata.getWorkflowDef(name, 2)));
        metadata.unregisterWorkflowDef(name, 1);
        assertEquals(404, httpStatusOf(() -> metadata.getWorkflowDef(name, null)));
    }

    @Test
    void invalidWorkflowDefinitionIsRefused() {
        WorkflowDef def = flow(unique("jv_meta_bad"), 1, "two tasks share a reference name");
        WorkflowTask twin = new WorkflowTask();
        twin.setName("jv_meta_step");
        twin.setTaskReferenceName("step");
        twin.setType("SIMPLE");
        def.setTasks(List.of(def.getTasks().get(0), twin));
        assertEquals(400, httpStatusOf(() -> metadata.registerWorkflowDef(def)));

        Set<String> names = metadata.getAllWorkflowsWithLatestVersions().stream()
                .map(WorkflowDef::getName).collect(Collectors.toSet());
        assertTrue(!names.contains(def.getName()), "a refused definition must not be stored");
    }
}
