package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.testlog.CapturedLogs;
import io.baton.sdk.worker.Worker;
import io.baton.sdk.worker.WorkerListener;
import io.baton.v1.TaskStatus;
import io.baton.v1.WorkflowStatus;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * API keys, roles and the audit log against a real {@code baton server --auth}, on a data
 * directory bootstrapped with {@code baton auth bootstrap}: the admin key makes a worker, an
 * operator and a viewer key, and each client and worker is held to what its role allows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthIntegrationTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String TASK = "auth_echo";
  private static final String FLOW = "auth_echo_flow";

  private TestServer server;
  private BatonClient admin;
  private CreatedApiKey workerKey;
  private CreatedApiKey operatorKey;
  private CreatedApiKey viewerKey;
  private BatonClient operator;
  private BatonClient viewer;
  /** Every key text seen by the tests: none may show up in a log record. */
  private final List<String> secrets = new CopyOnWriteArrayList<>();

  @BeforeAll
  void start() throws Exception {
    server = TestServer.startWithAuth();
    secrets.add(server.adminKey());
    admin = client(server.adminKey());
    workerKey = made(admin.createApiKey("java-worker", Role.WORKER));
    operatorKey = made(admin.createApiKey("java-operator", Role.OPERATOR));
    viewerKey = made(admin.createApiKey("java-viewer", Role.VIEWER));
    operator = client(operatorKey.keyText());
    viewer = client(viewerKey.keyText());
    admin.registerTaskDef(Defs.taskDef(TASK, 0, 0, 30));
    admin.registerWorkflowDef(Defs.oneTask(FLOW, TASK));
  }

  @AfterAll
  void stop() throws Exception {
    for (BatonClient c : new BatonClient[] {operator, viewer, admin}) {
      if (c != null) {
        c.close();
      }
    }
    if (server != null) {
      server.close();
    }
  }

  private CreatedApiKey made(CreatedApiKey k) {
    secrets.add(k.keyText());
    secrets.add(k.secret());
    return k;
  }

  /** A client of the test server sending {@code key}, ignoring the process environment. */
  private BatonClient client(String key) {
    return BatonClient.builder()
        .target(server.target())
        .environment(Map.of())
        .apiKey(key)
        .callTimeout(WAIT)
        .build();
  }

  /** A worker of the test server for {@link #TASK}, upper-casing the input's text. */
  private Worker.Builder echoWorker(String workerId) {
    return Worker.builder()
        .environment(Map.of())
        .workerId(workerId)
        .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
        .drainTimeout(Duration.ofSeconds(5))
        .task(TASK, t -> Map.of("upper", t.input("text", String.class).toUpperCase()));
  }

  @Test
  void theAdminMakesKeysOfEveryRole() {
    String adminId = server.adminKey().split("_")[1];
    for (CreatedApiKey k : List.of(workerKey, operatorKey, viewerKey)) {
      assertEquals("bk_" + k.id() + "_" + k.secret(), k.keyText());
      assertEquals(adminId, k.key().createdBy());
      assertNotNull(k.key().createdAt());
      assertFalse(k.key().revoked());
      assertFalse(k.toString().contains(k.secret()), k.toString());
    }
    assertEquals(Role.WORKER, workerKey.key().role());
    assertEquals(Role.OPERATOR, operatorKey.key().role());
    assertEquals(Role.VIEWER, viewerKey.key().role());

    List<ApiKey> keys = admin.listApiKeys();
    assertEquals(adminId, keys.get(0).id(), "oldest first: the bootstrap key");
    assertEquals(Role.ADMIN, keys.get(0).role());
    assertEquals("bootstrap", keys.get(0).createdBy());
    assertTrue(keys.contains(operatorKey.key()), keys.toString());
    assertTrue(admin.listApiKeysAsync().join().containsAll(List.of(workerKey.key(), viewerKey.key())));
  }

  @Test
  void theOperatorStartsAWorkflowTheWorkerCompletesAndTheViewerReads() {
    String id = operator.startWorkflow(FLOW, Map.of("text", "keyed"));
    try (Worker w =
        echoWorker("auth-worker")
            .target(server.target())
            .apiKey(workerKey.keyText())
            .build()
            .start()) {
      WorkflowExecution done = operator.awaitWorkflow(id, WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, done.status());
      assertEquals(Map.of("result", Map.of("upper", "KEYED")), done.output());
    }
    WorkflowExecution read = viewer.getWorkflow(id);
    assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, read.status());
    assertEquals(
        WorkflowStatus.WORKFLOW_STATUS_COMPLETED, viewer.getWorkflowAsync(id, false).join().status());
    assertTrue(viewer.listWorkflowDefs(false).stream().anyMatch(d -> d.name().equals(FLOW)));
  }

  @Test
  void aViewerCannotStartAWorkflow() {
    BatonException e =
        assertThrows(BatonException.class, () -> viewer.startWorkflow(FLOW, Map.of("text", "no")));
    assertTrue(e.isPermissionDenied(), e.toString());
    assertFalse(e.isUnauthenticated());
    assertEquals(Status.Code.PERMISSION_DENIED, e.code());
    assertTrue(e.getMessage().contains("viewer"), "the refusal names the role: " + e.getMessage());

    CompletionException async =
        assertThrows(
            CompletionException.class,
            () -> viewer.startWorkflowAsync(StartWorkflow.of(FLOW, Map.of("text", "no"))).join());
    assertTrue(((BatonException) async.getCause()).isPermissionDenied(), async.toString());
  }

  @Test
  void rolesBoundWhatEachKeyMayDo() {
    // Definitions need the admin role.
    assertPermissionDenied(() -> operator.registerTaskDef(Defs.taskDef("auth_never", 0, 0, 30)));
    // A worker key takes tasks but does not start workflows or read them.
    try (BatonClient worker = client(workerKey.keyText())) {
      assertTrue(worker.pollTask("auth_nothing_queued", "poller", Duration.ZERO).isEmpty());
      assertPermissionDenied(() -> worker.startWorkflow(FLOW, Map.of("text", "no")));
    }
    // Keys and the audit log are the admin's.
    assertPermissionDenied(() -> operator.createApiKey("sneaky", Role.ADMIN));
    assertPermissionDenied(operator::listApiKeys);
    assertPermissionDenied(() -> viewer.listAuditEvents());
  }

  @Test
  void withoutAKeyEveryCallIsUnauthenticated() {
    try (BatonClient anonymous = client(null)) {
      assertNull(anonymous.callCredentials());
      BatonException e = assertThrows(BatonException.class, () -> anonymous.listWorkflowDefs(false));
      assertTrue(e.isUnauthenticated(), e.toString());
      assertEquals(Status.Code.UNAUTHENTICATED, e.code());
      assertFalse(e.isPermissionDenied());
      // The server's reason, and how to give the client a key.
      assertTrue(e.getMessage().contains("needs credentials"), e.getMessage());
      assertTrue(e.getMessage().contains("BATON_API_KEY"), e.getMessage());
      e =
          assertThrows(
              BatonException.class, () -> anonymous.startWorkflow(FLOW, Map.of("text", "no")));
      assertTrue(e.isUnauthenticated(), e.toString());
    }
    // An empty key is no key.
    try (BatonClient empty = client("")) {
      assertNull(empty.callCredentials());
      assertUnauthenticated(() -> empty.listWorkflowDefs(false));
    }
    // A key the server never made.
    try (BatonClient unknown = client("bk_0123456789abcdef_" + "0".repeat(64))) {
      assertUnauthenticated(() -> unknown.listWorkflowDefs(false));
    }
    // The right id with a wrong secret.
    try (BatonClient wrong = client("bk_" + operatorKey.id() + "_" + "f".repeat(64))) {
      BatonException e = assertThrows(BatonException.class, () -> wrong.listWorkflowDefs(false));
      assertTrue(e.isUnauthenticated(), e.toString());
      assertTrue(e.getMessage().contains("wrong secret"), e.getMessage());
      assertFalse(e.getMessage().contains("BATON_API_KEY"), e.getMessage());
    }
  }

  @Test
  void aWorkerWithoutAKeyTakesNoTaskAndSaysWhy() throws Exception {
    String workerId = "auth-keyless-worker";
    List<Status.Code> refusals = new CopyOnWriteArrayList<>();
    try (Worker w =
        echoWorker(workerId)
            .target(server.target())
            .listener(
                new WorkerListener() {
                  @Override
                  public void onDisconnected(String type, Throwable cause) {
                    refusals.add(cause == null ? Status.Code.OK : Status.fromThrowable(cause).getCode());
                  }
                })
            .build()
            .start()) {
      eventually(() -> List.copyOf(refusals), r -> !r.isEmpty());
      assertEquals(Status.Code.UNAUTHENTICATED, refusals.get(0));
      List<CapturedLogs.Event> logged =
          eventually(
              () ->
                  CapturedLogs.find(
                      "worker stream ended; reconnecting", e -> workerId.equals(e.get("worker_id"))),
              l -> !l.isEmpty());
      String error = String.valueOf(logged.get(0).get("error"));
      assertTrue(error.contains("UNAUTHENTICATED"), error);
      assertTrue(error.contains("sends no API key"), error);
      assertTrue(error.contains("BATON_API_KEY"), error);
    }
  }

  @Test
  void aRevokedKeyIsRefusedOnItsNextCallAndItsWorkerTakesNoTask() throws Exception {
    CreatedApiKey doomed = made(admin.createApiKey("java-doomed-worker", Role.WORKER));
    String taskType = "auth_revoked_task";
    admin.registerTaskDef(Defs.taskDef(taskType, 0, 0, 30));
    admin.registerWorkflowDef(Defs.oneTask("auth_revoked_flow", taskType));
    try (BatonClient doomedClient = client(doomed.keyText())) {
      assertTrue(doomedClient.pollTask(taskType, "before-revoke", Duration.ZERO).isEmpty());

      ApiKey revoked = admin.revokeApiKey(doomed.id());
      assertTrue(revoked.revoked(), revoked.toString());
      assertNotNull(revoked.revokedAt());
      // Revoking again changes nothing.
      assertEquals(revoked.revokedAt(), admin.revokeApiKeyAsync(doomed.id()).join().revokedAt());
      assertTrue(
          admin.listApiKeys().stream().anyMatch(k -> k.id().equals(doomed.id()) && k.revoked()));

      assertUnauthenticated(() -> doomedClient.pollTask(taskType, "after-revoke", Duration.ZERO));
    }
    BatonException unknown =
        assertThrows(BatonException.class, () -> admin.revokeApiKey("0000000000000000"));
    assertTrue(unknown.isNotFound(), unknown.toString());

    String id = operator.startWorkflow("auth_revoked_flow", Map.of("text", "late"));
    List<Status.Code> refusals = new CopyOnWriteArrayList<>();
    AtomicInteger started = new AtomicInteger();
    WorkerListener listener =
        new WorkerListener() {
          @Override
          public void onDisconnected(String type, Throwable cause) {
            refusals.add(cause == null ? Status.Code.OK : Status.fromThrowable(cause).getCode());
          }

          @Override
          public void onTaskStarted(io.baton.sdk.worker.Task task) {
            started.incrementAndGet();
          }
        };
    try (Worker w =
        Worker.builder()
            .target(server.target())
            .environment(Map.of())
            .apiKey(doomed.keyText())
            .workerId("auth-revoked-worker")
            .listener(listener)
            .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(100))
            .drainTimeout(Duration.ZERO)
            .task(taskType, t -> Map.of("ran", true))
            .build()
            .start()) {
      // The first stream and the reconnects after it are all refused.
      eventually(() -> List.copyOf(refusals), r -> r.size() >= 3);
      assertTrue(
          refusals.stream().allMatch(c -> c == Status.Code.UNAUTHENTICATED), refusals.toString());
      assertEquals(0, started.get());
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_RUNNING, operator.getWorkflow(id).status());
      assertEquals(
          TaskStatus.TASK_STATUS_SCHEDULED,
          operator.getWorkflow(id, true).tasks().get(0).status());
      List<CapturedLogs.Event> logged =
          CapturedLogs.find(
              "worker stream ended; reconnecting",
              e -> "auth-revoked-worker".equals(e.get("worker_id")));
      assertFalse(logged.isEmpty());
      String error = String.valueOf(logged.get(0).get("error"));
      assertTrue(error.contains("UNAUTHENTICATED") && error.contains("revoked"), error);
    }
    // A worker with a live key takes the task the revoked one could not.
    try (Worker w =
        Worker.builder()
            .target(server.target())
            .environment(Map.of())
            .apiKey(workerKey.keyText())
            .workerId("auth-live-worker")
            .task(taskType, t -> Map.of("ran", true))
            .build()
            .start()) {
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, operator.awaitWorkflow(id, WAIT).status());
    }
    assertNoKeyLogged();
  }

  @Test
  void theEnvironmentGivesTheKey() {
    Map<String, String> operatorEnv =
        Map.of("BATON_SERVER", server.target(), "BATON_API_KEY", operatorKey.keyText());
    Map<String, String> workerEnv =
        Map.of("BATON_SERVER", server.target(), "BATON_API_KEY", " " + workerKey.keyText() + "\n");
    try (BatonClient fromEnv = BatonClient.builder().environment(operatorEnv).build()) {
      assertNotNull(fromEnv.callCredentials());
      String id = fromEnv.startWorkflow(FLOW, Map.of("text", "env"));
      try (Worker w = echoWorker("auth-env-worker").environment(workerEnv).build().start()) {
        assertEquals(Map.of("result", Map.of("upper", "ENV")), fromEnv.awaitWorkflow(id, WAIT).output());
      }
    }
    // A key set in code wins over the variable, and an empty one sends none.
    Map<String, String> wrongEnv =
        Map.of("BATON_SERVER", server.target(), "BATON_API_KEY", "bk_0123456789abcdef_" + "1".repeat(64));
    try (BatonClient explicit =
        BatonClient.builder().environment(wrongEnv).apiKey(viewerKey.keyText()).build()) {
      assertFalse(explicit.listWorkflowDefs(false).isEmpty());
    }
    try (BatonClient none = BatonClient.builder().environment(operatorEnv).apiKey("").build()) {
      assertNull(none.callCredentials());
      assertUnauthenticated(() -> none.listWorkflowDefs(false));
    }
    try (BatonClient blank =
        BatonClient.builder()
            .environment(Map.of("BATON_SERVER", server.target(), "BATON_API_KEY", "  "))
            .build()) {
      assertUnauthenticated(() -> blank.listWorkflowDefs(false));
    }
  }

  @Test
  void aWorkerBuiltFromAClientSendsTheClientsKey() {
    String id = operator.startWorkflow(FLOW, Map.of("text", "shared"));
    try (BatonClient workerClient = client(workerKey.keyText());
        Worker w = echoWorker("auth-shared-worker").client(workerClient).build().start()) {
      assertEquals(
          Map.of("result", Map.of("upper", "SHARED")), operator.awaitWorkflow(id, WAIT).output());
    }
    // A key set on the worker wins over the client's.
    String second = operator.startWorkflow(FLOW, Map.of("text", "own"));
    try (BatonClient anonymous = client(null);
        Worker w =
            echoWorker("auth-own-key-worker")
                .client(anonymous)
                .apiKey(workerKey.keyText())
                .build()
                .start()) {
      assertEquals(
          Map.of("result", Map.of("upper", "OWN")), operator.awaitWorkflow(second, WAIT).output());
    }
  }

  @Test
  void aGivenChannelCarriesTheKeyOfTheBuilder() {
    ManagedChannel ch = ManagedChannelBuilder.forTarget(server.target()).usePlaintext().build();
    try (BatonClient c =
        BatonClient.builder().channel(ch).environment(Map.of()).apiKey(viewerKey.keyText()).build()) {
      assertFalse(c.listWorkflowDefs(false).isEmpty());
      // A stub of one's own on the client's channel sends the key with the client's credentials.
      io.baton.v1.MetadataServiceGrpc.MetadataServiceBlockingStub stub =
          io.baton.v1.MetadataServiceGrpc.newBlockingStub(c.channel())
              .withCallCredentials(c.callCredentials());
      assertTrue(
          stub.listTaskDefs(io.baton.v1.ListTaskDefsRequest.getDefaultInstance()).getTaskDefsCount()
              > 0);
      assertFalse(c.callCredentials().toString().contains(viewerKey.secret()));
    } finally {
      ch.shutdownNow();
    }
  }

  @Test
  void theWorkerSendsItsKeyAgainAfterTheServerRestarts() throws Exception {
    try (TestServer own = TestServer.startWithAuth();
        BatonClient ownAdmin =
            BatonClient.builder()
                .target(own.target())
                .environment(Map.of())
                .apiKey(own.adminKey())
                .callTimeout(WAIT)
                .build()) {
      secrets.add(own.adminKey());
      CreatedApiKey key = made(ownAdmin.createApiKey("java-restart-worker", Role.WORKER));
      ownAdmin.registerTaskDef(Defs.taskDef(TASK, 0, 0, 30));
      ownAdmin.registerWorkflowDef(Defs.oneTask(FLOW, TASK));
      AtomicInteger connected = new AtomicInteger();
      WorkerListener listener =
          new WorkerListener() {
            @Override
            public void onConnected(String type) {
              connected.incrementAndGet();
            }
          };
      try (Worker w =
          echoWorker("auth-restart-worker")
              .target(own.target())
              .apiKey(key.keyText())
              .listener(listener)
              .build()
              .start()) {
        String first = ownAdmin.startWorkflow(FLOW, Map.of("text", "before"));
        assertEquals(
            WorkflowStatus.WORKFLOW_STATUS_COMPLETED, ownAdmin.awaitWorkflow(first, WAIT).status());
        int before = connected.get();
        own.kill();
        own.restart();
        eventually(connected::get, n -> n > before);
        String second = ownAdmin.startWorkflow(FLOW, Map.of("text", "after"));
        WorkflowExecution done = ownAdmin.awaitWorkflow(second, WAIT);
        assertEquals(Map.of("result", Map.of("upper", "AFTER")), done.output());
      }
    }
    assertNoKeyLogged();
  }

  @Test
  void theAuditLogShowsTheStartAndTheRefusedStart() {
    Instant since = Instant.now().minusSeconds(1);
    String started = operator.startWorkflow(FLOW, Map.of("text", "audited"));
    assertPermissionDenied(() -> viewer.startWorkflow(FLOW, Map.of("text", "refused")));
    assertNotNull(started);

    List<AuditEvent> ok =
        eventually(
            () ->
                admin.listAuditEvents(
                    new AuditQuery()
                        .actor(operatorKey.id())
                        .action("StartWorkflow")
                        .outcome(AuditOutcome.OK)
                        .since(since)),
            l -> !l.isEmpty());
    AuditEvent start = ok.get(0);
    assertEquals(operatorKey.id(), start.actor());
    assertEquals("java-operator", start.actorName());
    assertEquals(Role.OPERATOR, start.role());
    assertEquals(AuditOutcome.OK, start.outcome());
    assertTrue(start.action().contains("StartWorkflow"), start.action());
    assertEquals("operate", start.access());
    assertNotNull(start.time());
    assertFalse(start.time().isBefore(since), start.toString());

    List<AuditEvent> denied =
        eventually(
            () ->
                admin.listAuditEvents(
                    new AuditQuery()
                        .actor(viewerKey.id())
                        .action("startworkflow")
                        .outcome(AuditOutcome.DENIED)),
            l -> !l.isEmpty());
    AuditEvent refusal = denied.get(0);
    assertEquals(viewerKey.id(), refusal.actor());
    assertEquals(Role.VIEWER, refusal.role());
    assertEquals(AuditOutcome.DENIED, refusal.outcome());
    assertEquals("permissiondenied", codeName(refusal.status()));
    assertFalse(refusal.reason().isEmpty(), refusal.toString());

    // The actor filter takes a key's name too; the async form answers the same.
    List<AuditEvent> byName =
        admin.listAuditEventsAsync(
                new AuditQuery().actor("java-viewer").outcome(AuditOutcome.DENIED).action("StartWorkflow"))
            .join();
    assertTrue(byName.stream().anyMatch(e -> e.seq() == refusal.seq()), byName.toString());
  }

  @Test
  void theAuditLogPagesNewestFirst() {
    try (BatonClient anonymous = client(null)) {
      for (int i = 0; i < 3; i++) {
        assertUnauthenticated(() -> anonymous.startWorkflow(FLOW, Map.of("text", "anon")));
      }
    }
    AuditQuery anonymousRefusals =
        new AuditQuery().actor("anonymous").outcome(AuditOutcome.DENIED).action("StartWorkflow");
    List<AuditEvent> all = eventually(() -> admin.listAuditEvents(anonymousRefusals), l -> l.size() >= 3);
    for (AuditEvent e : all) {
      assertEquals("anonymous", e.actor());
      assertEquals("unauthenticated", codeName(e.status()));
      assertNull(e.role());
    }
    for (int i = 1; i < all.size(); i++) {
      assertTrue(all.get(i - 1).seq() > all.get(i).seq(), "not newest first: " + all);
    }
    // Page by page, one entry each, from the newest listed (later entries are left out).
    List<AuditEvent> page = new ArrayList<>();
    long before = all.get(0).seq() + 1;
    while (page.size() < all.size()) {
      List<AuditEvent> one =
          admin.listAuditEvents(
              new AuditQuery()
                  .actor("anonymous")
                  .outcome(AuditOutcome.DENIED)
                  .action("StartWorkflow")
                  .before(before)
                  .limit(1));
      assertEquals(1, one.size());
      page.add(one.get(0));
      before = one.get(0).seq();
    }
    assertEquals(all, page);
    assertTrue(admin.listAuditEvents(new AuditQuery().until(Instant.EPOCH.plusSeconds(1))).isEmpty());
    assertFalse(admin.listAuditEvents().isEmpty());
    assertThrows(IllegalArgumentException.class, () -> new AuditQuery().limit(1001));
  }

  @Test
  void aKeyAHeaderCannotCarryIsRefusedWithoutNamingIt() {
    String bad = "bk_abc def_secretpart";
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> BatonClient.builder().target(server.target()).apiKey(bad).build());
    assertFalse(e.getMessage().contains("secretpart"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Worker.builder()
                    .environment(
                        Map.of(
                            "BATON_SERVER", server.target(),
                            "BATON_API_KEY", "bk_\u00e9_secretpart"))
                    .task("auth_never", t -> null)
                    .build());
    assertTrue(e.getMessage().contains("BATON_API_KEY"), e.getMessage());
    assertFalse(e.getMessage().contains("secretpart"), e.getMessage());
  }

  /**
   * No record of the SDK holds a key. (The transport's own frame log, at DEBUG, prints every
   * header it sends; it is not the SDK's.)
   */
  private void assertNoKeyLogged() {
    for (CapturedLogs.Event e : CapturedLogs.all()) {
      if (!e.logger().startsWith("io.baton.")) {
        continue;
      }
      String text = e.toString() + (e.cause() == null ? "" : " " + e.cause());
      for (String s : secrets) {
        assertFalse(text.contains(s), "a key was logged: " + e.message());
      }
    }
  }

  /** A gRPC code name, however it is spelled ({@code PERMISSION_DENIED}, {@code PermissionDenied}). */
  private static String codeName(String status) {
    return status.replace("_", "").toLowerCase(java.util.Locale.ROOT);
  }

  private static void assertPermissionDenied(Runnable call) {
    BatonException e = assertThrows(BatonException.class, call::run);
    assertTrue(e.isPermissionDenied(), e.toString());
  }

  private static void assertUnauthenticated(Runnable call) {
    BatonException e = assertThrows(BatonException.class, call::run);
    assertTrue(e.isUnauthenticated(), e.toString());
  }

  /** Polls a value until it satisfies {@code done} or the deadline passes. */
  private static <T> T eventually(Supplier<T> read, Predicate<T> done) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    T last = read.get();
    while (!done.test(last)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met in time; last value: " + last);
      }
      java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
      last = read.get();
    }
    return last;
  }
}
