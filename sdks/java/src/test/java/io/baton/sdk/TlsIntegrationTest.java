package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.testlog.CapturedLogs;
import io.baton.sdk.worker.Worker;
import io.baton.v1.WorkflowStatus;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * TLS and mutual TLS against real {@code baton server}s: one serving TLS, one also requiring a
 * client certificate, both with certificates from {@code baton tls init}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsIntegrationTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** How long a refused connection may take to fail a call. */
  private static final Duration FAIL_WITHIN = Duration.ofSeconds(10);

  private Path certs;
  private Path ca;
  private Path clientCert;
  private Path clientKey;
  private TestServer tls;
  private TestServer mutual;

  @BeforeAll
  void startServers() throws Exception {
    certs = TestServer.initCertificates(Files.createTempDirectory("baton-java-tls-"));
    ca = certs.resolve("ca.pem");
    clientCert = certs.resolve("client.pem");
    clientKey = certs.resolve("client-key.pem");
    tls = TestServer.startTls(certs, false);
    mutual = TestServer.startTls(certs, true);
  }

  @AfterAll
  void stopServers() throws Exception {
    for (TestServer s : new TestServer[] {tls, mutual}) {
      if (s != null) {
        s.close();
      }
    }
    if (certs != null) {
      try (Stream<Path> files = Files.walk(certs)) {
        files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
      }
    }
  }

  @Test
  void clientAndWorkerOverTlsWithCaFile() {
    try (BatonClient client =
        BatonClient.builder().target(tls.httpsTarget()).caFile(ca).build()) {
      runOneTask(
          client,
          "tls_ca",
          () -> Worker.builder().target(tls.httpsTarget()).caFile(ca).workerId("tls-ca-worker"));
    }
  }

  @Test
  void bareAddressWithCaFileIsTls() {
    // host:port without a scheme goes over TLS once a CA file is configured.
    try (BatonClient client =
        BatonClient.builder().target("localhost:" + tls.port()).caFile(ca).build()) {
      assertNotNull(client.listTaskDefs());
    }
  }

  @Test
  void environmentConfiguresTls() {
    Map<String, String> env =
        Map.of("BATON_SERVER", "localhost:" + tls.port(), "BATON_CA_FILE", ca.toString());
    try (BatonClient client = BatonClient.builder().environment(env).build()) {
      runOneTask(
          client,
          "tls_env",
          () -> Worker.builder().environment(env).workerId("tls-env-worker"));
    }
  }

  @Test
  void environmentConfiguresMutualTls() {
    Map<String, String> env =
        Map.of(
            "BATON_SERVER", mutual.httpsTarget(),
            "BATON_CA_FILE", ca.toString(),
            "BATON_CLIENT_CERT", clientCert.toString(),
            "BATON_CLIENT_KEY", clientKey.toString());
    try (BatonClient client = BatonClient.builder().environment(env).build()) {
      runOneTask(
          client,
          "mtls_env",
          () -> Worker.builder().environment(env).workerId("mtls-env-worker"));
    }
  }

  @Test
  void explicitSettingsWinOverTheEnvironment() {
    // The variables name files that do not exist; the explicit ones are used instead.
    Map<String, String> env =
        Map.of(
            "BATON_CA_FILE", certs.resolve("missing-ca.pem").toString(),
            "BATON_CLIENT_CERT", certs.resolve("missing-client.pem").toString(),
            "BATON_CLIENT_KEY", certs.resolve("missing-client-key.pem").toString());
    try (BatonClient client =
        BatonClient.builder()
            .environment(env)
            .target(mutual.httpsTarget())
            .caFile(ca)
            .clientCertificate(clientCert, clientKey)
            .build()) {
      client.listTaskDefs();
    }
    // An explicit client certificate also replaces an incomplete pair in the environment.
    Map<String, String> half = Map.of("BATON_CLIENT_CERT", clientCert.toString());
    try (BatonClient client =
        BatonClient.builder()
            .environment(half)
            .target(mutual.httpsTarget())
            .caFile(ca)
            .clientCertificate(clientCert, clientKey)
            .build()) {
      client.listTaskDefs();
    }
  }

  @Test
  void withoutTheCaACallFailsAsUnavailable() {
    // The system's roots do not trust the test authority: the handshake fails.
    try (BatonClient client =
        BatonClient.builder().target(tls.httpsTarget()).callTimeout(WAIT).build()) {
      assertUnavailable(client);
    }
  }

  @Test
  void aWorkerWithoutTheCaLogsTheHandshakeFailure() throws Exception {
    String workerId = "tls-untrusting-worker";
    try (Worker w =
        Worker.builder()
            .target(tls.httpsTarget())
            .environment(Map.of())
            .workerId(workerId)
            .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(200))
            .drainTimeout(Duration.ZERO)
            .task("tls_untrusted", t -> null)
            .build()
            .start()) {
      long deadline = System.nanoTime() + WAIT.toNanos();
      List<CapturedLogs.Event> found = List.of();
      while (found.isEmpty()) {
        assertTrue(System.nanoTime() < deadline, "no reconnect record for " + workerId);
        Thread.sleep(10);
        found =
            CapturedLogs.find(
                "worker stream ended; reconnecting", e -> workerId.equals(e.get("worker_id")));
      }
      String error = String.valueOf(found.get(0).get("error"));
      assertTrue(error.contains("TLS handshake failed"), error);
    }
  }

  @Test
  void mutualTlsWithoutAClientCertificateFails() {
    try (BatonClient client =
        BatonClient.builder().target(mutual.httpsTarget()).caFile(ca).callTimeout(WAIT).build()) {
      long start = System.nanoTime();
      BatonException e = assertThrows(BatonException.class, client::listTaskDefs);
      assertTrue(
          Duration.ofNanos(System.nanoTime() - start).compareTo(FAIL_WITHIN) < 0,
          "the refused call took longer than " + FAIL_WITHIN + ": " + e);
      assertEquals(Status.Code.UNAVAILABLE, e.code(), e.toString());
    }
  }

  @Test
  void mutualTlsWithAClientCertificateWorks() {
    try (BatonClient client =
        BatonClient.builder()
            .target(mutual.httpsTarget())
            .caFile(ca)
            .clientCertificate(clientCert, clientKey)
            .build()) {
      runOneTask(
          client,
          "mtls",
          () ->
              Worker.builder()
                  .target(mutual.httpsTarget())
                  .caFile(ca)
                  .clientCertificate(clientCert, clientKey)
                  .workerId("mtls-worker"));
    }
  }

  @Test
  void workerSharingAMutualTlsClientChannelWorks() {
    try (BatonClient client =
        BatonClient.builder()
            .target("localhost:" + mutual.port())
            .caFile(ca)
            .clientCertificate(clientCert, clientKey)
            .build()) {
      runOneTask(
          client, "mtls_shared", () -> Worker.builder().client(client).workerId("mtls-shared"));
    }
  }

  @Test
  void plainTextAddressWithTlsFilesIsRefused() {
    String http = "http://localhost:" + tls.port();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> BatonClient.builder().target(http).caFile(ca).build());
    assertContains(e, "http://");
    assertContains(e, "CA file");
    assertContains(e, ca.toString());

    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                BatonClient.builder()
                    .target(http)
                    .clientCertificate(clientCert, clientKey)
                    .build());
    assertContains(e, "http://");
    assertContains(e, "client certificate");

    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Worker.builder()
                    .environment(Map.of("BATON_SERVER", http, "BATON_CA_FILE", ca.toString()))
                    .task("tls_never", t -> null)
                    .build());
    assertContains(e, "http://");
    assertContains(e, "CA file");
  }

  @Test
  void unreadableFilesAreRefusedNamingThem() throws Exception {
    Path missing = certs.resolve("no-such-ca.pem");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> BatonClient.builder().target(tls.httpsTarget()).caFile(missing).build());
    assertContains(e, missing.toString());
    assertContains(e, "CA file");

    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Worker.builder()
                    .target(tls.httpsTarget())
                    .caFile(missing)
                    .task("tls_never", t -> null)
                    .build());
    assertContains(e, missing.toString());

    Path missingKey = certs.resolve("no-such-key.pem");
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                BatonClient.builder()
                    .target(mutual.httpsTarget())
                    .caFile(ca)
                    .clientCertificate(clientCert, missingKey)
                    .build());
    assertContains(e, missingKey.toString());
    assertContains(e, "client key");

    Path notPem = certs.resolve("not-a-certificate.pem");
    Files.writeString(notPem, "hello\n", StandardCharsets.UTF_8);
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> BatonClient.builder().target(tls.httpsTarget()).caFile(notPem).build());
    assertContains(e, notPem.toString());

    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                BatonClient.builder()
                    .target(mutual.httpsTarget())
                    .caFile(ca)
                    .clientCertificate(clientCert, notPem)
                    .build());
    assertContains(e, notPem.toString());
  }

  @Test
  void aClientCertificateWithoutItsKeyInTheEnvironmentIsRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                BatonClient.builder()
                    .environment(
                        Map.of(
                            "BATON_SERVER", tls.httpsTarget(),
                            "BATON_CLIENT_CERT", clientCert.toString()))
                    .build());
    assertContains(e, "BATON_CLIENT_KEY");

    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Worker.builder()
                    .environment(
                        Map.of(
                            "BATON_SERVER", tls.httpsTarget(),
                            "BATON_CLIENT_KEY", clientKey.toString()))
                    .task("tls_never", t -> null)
                    .build());
    assertContains(e, "BATON_CLIENT_CERT");
  }

  @Test
  void tlsFilesWithAGivenChannelAreRefused() {
    ManagedChannel ch =
        ManagedChannelBuilder.forTarget("localhost:" + tls.port()).usePlaintext().build();
    try {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> BatonClient.builder().channel(ch).caFile(ca).build());
      assertContains(e, "channel");
      e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  Worker.builder()
                      .channel(ch)
                      .clientCertificate(clientCert, clientKey)
                      .task("tls_never", t -> null)
                      .build());
      assertContains(e, "channel");
    } finally {
      ch.shutdownNow();
    }
  }

  /**
   * Registers a one-task workflow, starts it with {@code client}, serves its task with a worker
   * from {@code worker} and waits for the workflow to complete with the worker's output.
   */
  private static void runOneTask(
      BatonClient client, String prefix, Supplier<Worker.Builder> worker) {
    String taskType = prefix + "_task";
    String workflowName = prefix + "_flow";
    client.registerTaskDef(Defs.taskDef(taskType, 0, 0, 30));
    StoredDefinition stored = client.registerWorkflowDef(Defs.oneTask(workflowName, taskType));
    assertEquals(workflowName, stored.name());
    String id = client.startWorkflow(workflowName, Map.of("text", "secure"));
    try (Worker w =
        worker
            .get()
            .task(
                taskType,
                t -> Map.of("upper", t.input("text", String.class).toUpperCase()))
            .build()
            .start()) {
      WorkflowExecution wf = client.awaitWorkflow(id, WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status());
      assertEquals(Map.of("result", Map.of("upper", "SECURE")), wf.output());
    }
  }

  private static void assertUnavailable(BatonClient client) {
    long start = System.nanoTime();
    BatonException e = assertThrows(BatonException.class, client::listTaskDefs);
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertEquals(Status.Code.UNAVAILABLE, e.code(), e.toString());
    assertTrue(e.getMessage().contains("cannot reach the Baton server"), e.getMessage());
    assertTrue(e.getMessage().contains("TLS handshake failed"), e.getMessage());
    assertTrue(took.compareTo(FAIL_WITHIN) < 0, "the call took " + took + ": " + e);
  }

  private static void assertContains(Throwable e, String part) {
    assertTrue(
        e.getMessage() != null && e.getMessage().contains(part),
        "message does not name " + part + ": " + e.getMessage());
  }
}
