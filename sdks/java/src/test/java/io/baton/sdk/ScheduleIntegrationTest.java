package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The client's schedule operations against a real {@code baton server}. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ScheduleIntegrationTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String EVERY_SECOND = "* * * * * *";

  private TestServer server;
  private BatonClient client;

  @BeforeAll
  void startServer() throws Exception {
    server = TestServer.start();
    client = BatonClient.connect(server.target());
    // One SET_VARIABLE task: runs end without a worker.
    client.registerWorkflowDef(setVariable("s_quick"));
    client.registerWorkflowDef(setVariable("s_other"));
  }

  @AfterAll
  void stopServer() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private static Map<String, Object> setVariable(String workflowName) {
    return Defs.workflow(
        workflowName,
        List.of(
            Map.of(
                "name", "remember",
                "taskReferenceName", "remember",
                "type", "SET_VARIABLE",
                "inputParameters", Map.of("tag", "${workflow.input.tag}"))),
        Map.of("tag", "${workflow.variables.tag}"));
  }

  private static Map<String, Object> schedule(String name, String workflow, String cron) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("name", name);
    d.put("cronExpression", cron);
    d.put("zoneId", "UTC");
    d.put("startWorkflowRequest", Map.of("name", workflow, "input", Map.of("tag", "scheduled")));
    return d;
  }

  /** Polls until {@code read} gives a value {@code done} accepts; fails after {@link #WAIT}. */
  private static <T> T await(String what, Supplier<T> read, Predicate<T> done) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    long pause = 20;
    while (true) {
      T value = read.get();
      if (done.test(value)) {
        return value;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("never: " + what + "; last seen: " + value);
      }
      try {
        Thread.sleep(pause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what, e);
      }
      pause = Math.min(250, pause * 2);
    }
  }

  private static List<ScheduleHistoryEntry> started(List<ScheduleHistoryEntry> history) {
    return history.stream().filter(e -> e.type().equals("STARTED")).toList();
  }

  @Test
  void aScheduleFiresEverySecondAndCanBePausedResumedTriggeredAndBackfilled() {
    Schedule saved = client.saveSchedule(schedule("s_every_second", "s_quick", EVERY_SECOND));
    assertEquals("s_every_second", saved.name());
    assertEquals("s_quick", saved.workflowName());
    assertEquals("UTC", saved.zoneId());
    assertFalse(saved.paused());
    assertNotNull(saved.nextRunTime());
    assertNotNull(saved.createTime());
    assertEquals(EVERY_SECOND, saved.definition().get("cronExpression"));
    assertTrue(saved.definitionJson().contains("startWorkflowRequest"), saved.definitionJson());
    assertTrue(saved.revision() > 0);

    // It fires on its own; its history has the runs it started.
    Schedule fired =
        await("a scheduled run", () -> client.getSchedule("s_every_second"), s -> s.counters().fired() >= 1);
    assertNotNull(fired.lastFiredTime());
    List<ScheduleHistoryEntry> history =
        await("a STARTED entry", () -> client.getScheduleHistory("s_every_second"), h -> !started(h).isEmpty());
    ScheduleHistoryEntry first = started(history).get(0);
    assertNotNull(first.slotTime());
    assertNotNull(first.recordTime());
    String runId = first.workflowId();
    assertNotNull(runId, first.event().toString());
    WorkflowExecution run = client.awaitWorkflow(runId, WAIT);
    assertTrue(run.isCompleted(), run.reasonForIncompletion());
    assertEquals("s_every_second", run.input().get("_startedByScheduler"));
    assertEquals(first.slotTime().toEpochMilli(), run.input().get("_scheduledTime"));
    assertEquals(Map.of("tag", "scheduled"), run.output());
    await(
        "a completed run counted",
        () -> client.getSchedule("s_every_second"),
        s -> s.counters().succeeded() >= 1);

    // History over a range, with a limit.
    List<ScheduleHistoryEntry> one =
        client.getScheduleHistory("s_every_second", first.slotTime(), first.slotTime(), 1);
    assertEquals(1, one.size());
    assertEquals(first.slotTime(), one.get(0).slotTime());
    assertTrue(
        client.getScheduleHistory("s_every_second", Instant.EPOCH, saved.createTime().minusSeconds(3600), 0)
            .isEmpty());

    // Pause and resume, with notes.
    Schedule paused = client.pauseSchedule("s_every_second", "maintenance");
    assertTrue(paused.paused());
    assertEquals("maintenance", paused.note());
    assertNull(paused.nextRunTime());
    assertTrue(client.getSchedule("s_every_second").paused());
    Schedule resumed = client.resumeSchedule("s_every_second", "done");
    assertFalse(resumed.paused());
    assertEquals("done", resumed.note());
    assertNotNull(resumed.nextRunTime());

    // A manual run with an input override and an overlap override.
    List<String> ids =
        client.triggerSchedule("s_every_second", Map.of("tag", "manual"), OverlapPolicy.ALLOW_ALL);
    assertEquals(1, ids.size());
    WorkflowExecution manual = client.awaitWorkflow(ids.get(0), WAIT);
    assertTrue(manual.isCompleted(), manual.reasonForIncompletion());
    assertEquals("manual", manual.input().get("tag"));
    assertEquals("s_every_second", manual.input().get("_startedByScheduler"));
    assertEquals(Map.of("tag", "manual"), manual.output());
    await("the manual run counted", () -> client.getSchedule("s_every_second"), s -> s.counters().manual() == 1);

    // Backfill the three seconds before the schedule existed: none of them ran.
    Instant from = saved.createTime().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).minusSeconds(3);
    Instant until = from.plusSeconds(2);
    client.backfillSchedule("s_every_second", from, until, OverlapPolicy.ALLOW_ALL);
    await(
        "three backfilled runs",
        () -> client.getSchedule("s_every_second"),
        s -> s.counters().backfilled() == 3);
    List<ScheduleHistoryEntry> backfilled =
        started(client.getScheduleHistory("s_every_second", from, until, 0));
    assertEquals(
        List.of(until, from.plusSeconds(1), from),
        backfilled.stream().map(ScheduleHistoryEntry::slotTime).toList(),
        backfilled.toString());
    for (ScheduleHistoryEntry e : backfilled) {
      WorkflowExecution w = client.awaitWorkflow(e.workflowId(), WAIT);
      assertEquals(e.slotTime().toEpochMilli(), w.input().get("_scheduledTime"));
    }

    // The same through the async forms.
    assertTrue(client.pauseScheduleAsync("s_every_second", null).join().paused());
    assertEquals("", client.getScheduleAsync("s_every_second").join().note());
    assertFalse(client.resumeScheduleAsync("s_every_second", null).join().paused());
    assertEquals(1, client.triggerScheduleAsync("s_every_second", null, null).join().size());
    assertFalse(client.getScheduleHistoryAsync("s_every_second", null, null, 5).join().isEmpty());

    client.deleteSchedule("s_every_second");
    assertTrue(
        assertThrows(BatonException.class, () -> client.getSchedule("s_every_second")).isNotFound());
  }

  @Test
  void previewsOfUnsavedCronsDefinitionsAndSavedSchedules() {
    Instant from = Instant.parse("2026-01-05T00:00:00Z"); // a Monday, Paris is UTC+1
    SchedulePreview cron =
        client.previewSchedule(PreviewSchedule.ofCron("0 9 * * *", "Europe/Paris").from(from).limit(3));
    assertEquals("Europe/Paris", cron.zoneId());
    assertTrue(cron.truncated());
    assertEquals(
        List.of(
            Instant.parse("2026-01-05T08:00:00Z"),
            Instant.parse("2026-01-06T08:00:00Z"),
            Instant.parse("2026-01-07T08:00:00Z")),
        cron.times());
    assertEquals("0 9 * * *", cron.slots().get(0).spec());
    assertEquals(0, cron.slots().get(0).specIndex());

    // A bounded range that holds fewer slots than the limit is not truncated.
    SchedulePreview bounded =
        client.previewSchedule(
            PreviewSchedule.ofCron("0 0 * * *").from(from).until(from.plus(Duration.ofDays(2))).limit(10));
    assertFalse(bounded.truncated());
    assertEquals(List.of(from.plus(Duration.ofDays(1)), from.plus(Duration.ofDays(2))), bounded.times());

    // An unsaved definition, as a map and as JSON text: nothing is saved.
    Map<String, Object> def = schedule("s_unsaved", "s_quick", "0 */15 * * * *");
    SchedulePreview fromMap = client.previewSchedule(PreviewSchedule.ofDefinition(def).from(from).limit(2));
    assertEquals(
        List.of(Instant.parse("2026-01-05T00:15:00Z"), Instant.parse("2026-01-05T00:30:00Z")),
        fromMap.times());
    SchedulePreview fromText =
        client.previewSchedule(
            PreviewSchedule.ofDefinition(io.baton.sdk.internal.Json.write(def)).from(from).limit(2));
    assertEquals(fromMap.times(), fromText.times());
    assertTrue(
        assertThrows(BatonException.class, () -> client.getSchedule("s_unsaved")).isNotFound());

    // A saved schedule, from now (monthly, so no slot passes while the test runs).
    Schedule monthly = client.saveSchedule(schedule("s_monthly", "s_quick", "0 0 0 1 * *"));
    SchedulePreview saved = client.previewSchedule("s_monthly", 3);
    assertEquals(3, saved.slots().size());
    assertEquals(monthly.nextRunTime(), saved.times().get(0));
    for (int i = 1; i < 3; i++) {
      assertEquals(
          saved.times().get(i - 1).atZone(java.time.ZoneOffset.UTC).plusMonths(1).toInstant(),
          saved.times().get(i));
    }
    assertEquals(
        saved.times(),
        client.previewScheduleAsync(PreviewSchedule.ofSaved("s_monthly").limit(3)).join().times());
    client.deleteSchedule("s_monthly");
  }

  @Test
  void listBulkPauseAndDelete() {
    client.saveSchedule(schedule("s_list_a", "s_quick", "0 0 3 * * *"));
    // As JSON text, created paused.
    client.saveSchedule(
        "{\"name\": \"s_list_b\", \"cronExpression\": \"0 0 4 * * *\", \"paused\": true,"
            + " \"startWorkflowRequest\": {\"name\": \"s_other\"}}");
    Schedule b = client.getSchedule("s_list_b");
    assertTrue(b.paused());
    assertEquals("UTC", b.zoneId());

    List<String> all = client.listSchedules().stream().map(Schedule::name).toList();
    assertTrue(all.containsAll(List.of("s_list_a", "s_list_b")), all.toString());
    assertEquals(all.stream().sorted().toList(), all);
    assertEquals(
        List.of("s_list_b"), client.listSchedules("s_other").stream().map(Schedule::name).toList());
    assertEquals(
        client.listSchedules("s_other").stream().map(Schedule::name).toList(),
        client.listSchedulesAsync("s_other").join().stream().map(Schedule::name).toList());
    assertTrue(client.listSchedules("s_no_such_workflow").isEmpty());

    // Replacing a definition keeps its state.
    Map<String, Object> replaced = schedule("s_list_a", "s_quick", "0 30 3 * * *");
    Schedule a = client.getSchedule("s_list_a");
    Schedule again = client.saveSchedule(replaced);
    assertEquals("0 30 3 * * *", again.definition().get("cronExpression"));
    assertEquals(a.createTime(), again.createTime());
    assertTrue(again.revision() > a.revision());

    // Bulk pause: one outcome per name, in order; an unknown name does not stop the others.
    List<BulkScheduleOutcome> out =
        client.pauseSchedules(List.of("s_list_a", "s_list_b", "s_list_missing"), "freeze");
    assertEquals(
        List.of("s_list_a", "s_list_b", "s_list_missing"),
        out.stream().map(BulkScheduleOutcome::name).toList());
    assertTrue(out.get(0).ok(), out.toString());
    assertTrue(out.get(1).ok(), out.toString());
    assertFalse(out.get(2).ok());
    assertTrue(out.get(2).error().contains("s_list_missing"), out.get(2).error());
    assertTrue(client.getSchedule("s_list_a").paused());
    assertEquals("freeze", client.getSchedule("s_list_a").note());

    List<BulkScheduleOutcome> resumed = client.resumeSchedules(List.of("s_list_a", "s_list_b"), "thaw");
    assertTrue(resumed.stream().allMatch(BulkScheduleOutcome::ok), resumed.toString());
    assertFalse(client.getSchedule("s_list_b").paused());
    assertEquals("thaw", client.getSchedule("s_list_b").note());
    assertTrue(
        client.bulkPauseSchedulesAsync(List.of("s_list_b"), false, null).join().get(0).ok());
    assertTrue(client.getSchedule("s_list_b").paused());

    client.deleteSchedule("s_list_a");
    client.deleteScheduleAsync("s_list_b").join();
    List<String> left = client.listSchedules().stream().map(Schedule::name).toList();
    assertFalse(left.contains("s_list_a") || left.contains("s_list_b"), left.toString());
  }

  @Test
  void badInputIsRefusedWithTheServersReason() {
    BatonException unknown = assertThrows(BatonException.class, () -> client.getSchedule("s_nope"));
    assertTrue(unknown.isNotFound());
    assertEquals(Status.Code.NOT_FOUND, unknown.code());
    assertTrue(unknown.getMessage().contains("schedule s_nope does not exist"), unknown.getMessage());
    for (Runnable call :
        List.<Runnable>of(
            () -> client.pauseSchedule("s_nope"),
            () -> client.resumeSchedule("s_nope"),
            () -> client.triggerSchedule("s_nope"),
            () -> client.deleteSchedule("s_nope"),
            () -> client.previewSchedule("s_nope", 1),
            () -> client.backfillSchedule("s_nope", Instant.now().minusSeconds(10), null))) {
      BatonException e = assertThrows(BatonException.class, call::run);
      assertTrue(e.isNotFound(), e.getMessage());
      assertTrue(e.getMessage().contains("s_nope"), e.getMessage());
    }
    CompletionException async =
        assertThrows(CompletionException.class, () -> client.getScheduleAsync("s_nope").join());
    assertTrue(async.getCause() instanceof BatonException be && be.isNotFound());

    // Malformed definitions: not JSON, a bad cron expression, no workflow to start.
    BatonException notJson = assertThrows(BatonException.class, () -> client.saveSchedule("{\"name\": "));
    assertEquals(Status.Code.INVALID_ARGUMENT, notJson.code());
    assertTrue(notJson.isInvalidArgument());
    BatonException badCron =
        assertThrows(
            BatonException.class,
            () -> client.saveSchedule(schedule("s_bad_cron", "s_quick", "61 * * * *")));
    assertEquals(Status.Code.INVALID_ARGUMENT, badCron.code(), badCron.getMessage());
    BatonException noStart =
        assertThrows(
            BatonException.class,
            () -> client.saveSchedule(Map.of("name", "s_no_start", "cronExpression", "0 * * * *")));
    assertEquals(Status.Code.INVALID_ARGUMENT, noStart.code(), noStart.getMessage());
    BatonException badPreview =
        assertThrows(BatonException.class, () -> client.previewSchedule(PreviewSchedule.ofCron("not a cron")));
    assertEquals(Status.Code.INVALID_ARGUMENT, badPreview.code(), badPreview.getMessage());
    assertTrue(
        assertThrows(BatonException.class, () -> client.getSchedule("s_bad_cron")).isNotFound());
  }
}
