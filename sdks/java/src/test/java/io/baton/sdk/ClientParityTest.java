package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.baton.sdk.worker.Worker;
import io.baton.v1.AdminProto;
import io.baton.v1.MetadataProto;
import io.baton.v1.MonitorProto;
import io.baton.v1.ScheduleProto;
import io.baton.v1.TaskProto;
import io.baton.v1.WorkflowProto;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Every RPC of every {@code baton.v1} service has a blocking client call and an {@code ...Async}
 * one returning a {@link CompletableFuture}. The RPCs come from the descriptors generated from
 * proto/, so an RPC added there without a client call fails this test by name.
 */
class ClientParityTest {
  /** An RPC's client calls: the blocking method and the async one, on BatonClient. */
  private record Calls(String blocking, String async) {}

  /** RPC ("Service/Method") to its client calls. */
  private static final Map<String, Calls> CALLS = new LinkedHashMap<>();

  /** RPCs served by another class of the SDK than BatonClient, with the method that uses them. */
  private static final Map<String, String> ELSEWHERE =
      Map.of("TaskService/Work", Worker.class.getName() + "#start");

  private static void map(String rpc, String blocking, String async) {
    CALLS.put(rpc, new Calls(blocking, async));
  }

  private static void map(String rpc, String blocking) {
    map(rpc, blocking, blocking + "Async");
  }

  static {
    map("MetadataService/RegisterWorkflowDef", "registerWorkflowDef");
    map("MetadataService/UpdateWorkflowDef", "updateWorkflowDefs");
    map("MetadataService/GetWorkflowDef", "getWorkflowDef");
    map("MetadataService/ListWorkflowDefs", "listWorkflowDefs");
    map("MetadataService/DeleteWorkflowDef", "deleteWorkflowDef");
    map("MetadataService/ValidateWorkflowDef", "validateWorkflowDef");
    map("MetadataService/RegisterTaskDefs", "registerTaskDefs");
    map("MetadataService/GetTaskDef", "getTaskDef");
    map("MetadataService/ListTaskDefs", "listTaskDefs");
    map("MetadataService/DeleteTaskDef", "deleteTaskDef");
    map("MetadataService/AddEventHandler", "addEventHandler");
    map("MetadataService/UpdateEventHandler", "updateEventHandler");
    map("MetadataService/DeleteEventHandler", "deleteEventHandler");
    map("MetadataService/GetEventHandler", "getEventHandler");
    map("MetadataService/ListEventHandlers", "listEventHandlers");

    map("WorkflowService/StartWorkflow", "startWorkflow");
    map("WorkflowService/ExecuteWorkflow", "executeWorkflow");
    map("WorkflowService/GetWorkflow", "getWorkflow");
    map("WorkflowService/WaitWorkflow", "waitWorkflow");
    map("WorkflowService/GetWorkflowsByCorrelationId", "getWorkflowsByCorrelationId");
    map("WorkflowService/PauseWorkflow", "pauseWorkflow");
    map("WorkflowService/ResumeWorkflow", "resumeWorkflow");
    map("WorkflowService/TerminateWorkflow", "terminateWorkflow");
    map("WorkflowService/RestartWorkflow", "restartWorkflow");
    map("WorkflowService/RetryWorkflow", "retryWorkflow");
    map("WorkflowService/RemoveWorkflow", "removeWorkflow");
    map("WorkflowService/RerunWorkflow", "rerunWorkflow");
    map("WorkflowService/SkipTask", "skipTask");
    map("WorkflowService/ResetCallbacks", "resetCallbacks");
    map("WorkflowService/DecideWorkflow", "decideWorkflow");
    map("WorkflowService/ListWorkflowTasks", "listWorkflowTasks");
    map("WorkflowService/GetRunningWorkflows", "getRunningWorkflows");
    map("WorkflowService/GetWorkflowsByCorrelationIds", "getWorkflowsByCorrelationIds");
    map("WorkflowService/RunBulkOperation", "runBulkOperation");
    map("WorkflowService/SearchWorkflows", "searchWorkflows");
    map("WorkflowService/ImportWorkflows", "importWorkflows");
    map("WorkflowService/GetRetention", "getRetention");

    map("TaskService/Poll", "pollTask");
    map("TaskService/BatchPoll", "batchPollTasks");
    map("TaskService/UpdateTask", "updateTask");
    map("TaskService/ExtendLease", "extendLease");
    map("TaskService/GetTask", "getTask");
    map("TaskService/GetTaskLogs", "getTaskLogs");
    map("TaskService/UpdateTaskByRef", "updateTaskByRef");
    map("TaskService/AddTaskLogs", "addTaskLogs");
    map("TaskService/ListQueues", "listQueues");
    map("TaskService/SearchTasks", "searchTasks");
    map("TaskService/ListWorkers", "listWorkers");

    map("ScheduleService/SaveSchedule", "saveSchedule");
    map("ScheduleService/GetSchedule", "getSchedule");
    map("ScheduleService/ListSchedules", "listSchedules");
    map("ScheduleService/DeleteSchedule", "deleteSchedule");
    map("ScheduleService/PauseSchedule", "pauseSchedule");
    map("ScheduleService/ResumeSchedule", "resumeSchedule");
    map("ScheduleService/BulkPauseSchedules", "pauseSchedules", "bulkPauseSchedulesAsync");
    map("ScheduleService/TriggerSchedule", "triggerSchedule");
    map("ScheduleService/BackfillSchedule", "backfillSchedule");
    map("ScheduleService/PreviewSchedule", "previewSchedule");
    map("ScheduleService/GetScheduleHistory", "getScheduleHistory");

    map("MonitorService/GetOverview", "getOverview");
    map("MonitorService/GetMetricsHistory", "getMetricsHistory");

    map("AdminService/CreateApiKey", "createApiKey");
    map("AdminService/ListApiKeys", "listApiKeys");
    map("AdminService/RevokeApiKey", "revokeApiKey");
    map("AdminService/ListAuditEvents", "listAuditEvents");
  }

  /** The proto files of baton.v1 that declare services. */
  private static final List<FileDescriptor> FILES =
      List.of(
          MetadataProto.getDescriptor(),
          WorkflowProto.getDescriptor(),
          TaskProto.getDescriptor(),
          ScheduleProto.getDescriptor(),
          MonitorProto.getDescriptor(),
          AdminProto.getDescriptor());

  /** Every RPC of every baton.v1 service, as "Service/Method". */
  static List<String> allRpcs() {
    Set<FileDescriptor> seen = new java.util.LinkedHashSet<>();
    for (FileDescriptor f : FILES) {
      collect(f, seen);
    }
    List<String> out = new ArrayList<>();
    for (FileDescriptor f : seen) {
      if (!f.getPackage().equals("baton.v1")) {
        continue;
      }
      for (ServiceDescriptor s : f.getServices()) {
        for (MethodDescriptor m : s.getMethods()) {
          out.add(s.getName() + "/" + m.getName());
        }
      }
    }
    return out;
  }

  /** A file and everything it imports, so a service in a newly imported file is seen too. */
  private static void collect(FileDescriptor f, Set<FileDescriptor> seen) {
    if (seen.add(f)) {
      f.getDependencies().forEach(d -> collect(d, seen));
    }
  }

  /** The RPCs among {@code rpcs} with no client call, each with what is missing. */
  static List<String> missing(List<String> rpcs) {
    List<String> problems = new ArrayList<>();
    for (String rpc : rpcs) {
      if (ELSEWHERE.containsKey(rpc)) {
        String[] target = ELSEWHERE.get(rpc).split("#");
        if (!hasPublic(classFor(target[0]), target[1], false)) {
          problems.add(rpc + ": no " + ELSEWHERE.get(rpc));
        }
        continue;
      }
      Calls calls = CALLS.get(rpc);
      if (calls == null) {
        problems.add(rpc + ": no client call is mapped to it");
        continue;
      }
      if (!hasPublic(BatonClient.class, calls.blocking(), false)) {
        problems.add(rpc + ": no blocking BatonClient." + calls.blocking());
      }
      if (!hasPublic(BatonClient.class, calls.async(), true)) {
        problems.add(rpc + ": no BatonClient." + calls.async() + " returning CompletableFuture");
      }
    }
    return problems;
  }

  private static Class<?> classFor(String name) {
    try {
      return Class.forName(name);
    } catch (ClassNotFoundException e) {
      throw new AssertionError(e);
    }
  }

  private static boolean hasPublic(Class<?> type, String name, boolean async) {
    return Arrays.stream(type.getMethods())
        .filter(m -> m.getName().equals(name) && Modifier.isPublic(m.getModifiers()))
        .anyMatch(m -> async == CompletableFuture.class.isAssignableFrom(m.getReturnType()));
  }

  @Test
  void everyRpcHasABlockingAndAnAsyncClientCall() {
    List<String> rpcs = allRpcs();
    // Sanity: the descriptors list the services this test knows of.
    Set<String> services = new TreeSet<>();
    rpcs.forEach(r -> services.add(r.substring(0, r.indexOf('/'))));
    assertTrue(
        services.containsAll(
            Set.of(
                "MetadataService",
                "WorkflowService",
                "TaskService",
                "ScheduleService",
                "MonitorService",
                "AdminService")),
        services.toString());
    List<String> problems = missing(rpcs);
    assertTrue(problems.isEmpty(), "RPCs without a client call:\n  " + String.join("\n  ", problems));
  }

  @Test
  void everyServiceOfTheGeneratedStubsIsCovered() throws Exception {
    // Every *Grpc class generated into io.baton.v1 (found on the class path, so a service in a
    // new proto file is seen too) names RPCs that are all covered.
    List<String> fromStubs = new ArrayList<>();
    java.net.URL dir = getClass().getClassLoader().getResource("io/baton/v1");
    assertTrue(dir != null && dir.getProtocol().equals("file"), "generated classes not found: " + dir);
    try (java.util.stream.Stream<java.nio.file.Path> files =
        java.nio.file.Files.list(java.nio.file.Path.of(dir.toURI()))) {
      for (java.nio.file.Path f : files.sorted().toList()) {
        String file = f.getFileName().toString();
        if (!file.endsWith("Grpc.class")) {
          continue;
        }
        Class<?> grpc = Class.forName("io.baton.v1." + file.substring(0, file.length() - 6));
        io.grpc.ServiceDescriptor sd =
            (io.grpc.ServiceDescriptor) grpc.getMethod("getServiceDescriptor").invoke(null);
        sd.getMethods()
            .forEach(
                m ->
                    fromStubs.add(
                        m.getServiceName().replace("baton.v1.", "") + "/" + m.getBareMethodName()));
      }
    }
    assertEquals(new TreeSet<>(allRpcs()), new TreeSet<>(fromStubs));
    assertEquals(List.of(), missing(fromStubs));
  }

  @Test
  void anUnmappedRpcIsReportedByName() {
    List<String> problems = missing(List.of("WorkflowService/NoSuchRpc", "WorkflowService/GetWorkflow"));
    assertEquals(List.of("WorkflowService/NoSuchRpc: no client call is mapped to it"), problems);
  }

  @Test
  void theMappingNamesNoRpcThatIsGone() {
    Set<String> rpcs = new TreeSet<>(allRpcs());
    List<String> stale = new ArrayList<>();
    CALLS.keySet().stream().filter(r -> !rpcs.contains(r)).forEach(stale::add);
    ELSEWHERE.keySet().stream().filter(r -> !rpcs.contains(r)).forEach(stale::add);
    assertEquals(List.of(), stale);
  }
}
