package io.baton.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.baton.sdk.worker.TaskOptions;
import io.baton.sdk.worker.Worker;
import io.baton.sdk.worker.WorkerListener;
import io.baton.v1.WorkRequest;
import io.baton.v1.WorkResponse;
import io.baton.v1.WorkflowStatus;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Batching on the worker stream against a real {@code baton server}: what the worker sends and
 * receives is counted by an interceptor on its channel.
 */
class WorkerBatchingTest extends ServerTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  /** Counts the worker stream's messages by kind. */
  static final class Wire implements ClientInterceptor {
    final AtomicInteger singleResults = new AtomicInteger();
    final AtomicInteger resultBatches = new AtomicInteger();
    final AtomicInteger resultsInBatches = new AtomicInteger();
    final AtomicInteger largestResultBatch = new AtomicInteger();
    final AtomicInteger subscribedWithBatch = new AtomicInteger();
    final AtomicInteger taskBatches = new AtomicInteger();
    final AtomicInteger ackBatches = new AtomicInteger();

    @Override
    public <Q, P> ClientCall<Q, P> interceptCall(
        MethodDescriptor<Q, P> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<Q, P>(next.newCall(method, options)) {
        @Override
        public void start(Listener<P> listener, Metadata headers) {
          super.start(
              new ForwardingClientCallListener.SimpleForwardingClientCallListener<P>(listener) {
                @Override
                public void onMessage(P message) {
                  if (message instanceof WorkResponse r) {
                    switch (r.getKindCase()) {
                      case TASKS -> taskBatches.incrementAndGet();
                      case RESULT_ACKS -> ackBatches.incrementAndGet();
                      default -> {}
                    }
                  }
                  super.onMessage(message);
                }
              },
              headers);
        }

        @Override
        public void sendMessage(Q message) {
          if (message instanceof WorkRequest r) {
            switch (r.getKindCase()) {
              case SUBSCRIBE -> {
                if (r.getSubscribe().getBatch()) {
                  subscribedWithBatch.incrementAndGet();
                }
              }
              case RESULT -> singleResults.incrementAndGet();
              case RESULTS -> {
                int n = r.getResults().getResultsCount();
                resultBatches.incrementAndGet();
                resultsInBatches.addAndGet(n);
                largestResultBatch.accumulateAndGet(n, Math::max);
              }
              default -> {}
            }
          }
          super.sendMessage(message);
        }
      };
    }
  }

  /** Counts acknowledged results. */
  static final class Acks implements WorkerListener {
    final Set<String> ok = ConcurrentHashMap.newKeySet();
    final List<String> refused = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public void onResultAcknowledged(String taskType, String taskId, boolean ok, String code, String message) {
      if (ok) {
        this.ok.add(taskId);
      } else {
        refused.add(taskId + " " + code + " " + message);
      }
    }
  }

  private void define(String workflow, String task) {
    client.registerTaskDef(Defs.taskDef(task, 0, 0, 60));
    client.registerWorkflowDef(Defs.oneTask(workflow, task));
  }

  private List<String> start(String workflow, int n, int from) {
    return IntStream.range(from, from + n)
        .mapToObj(i -> client.startWorkflowAsync(StartWorkflow.of(workflow, Map.of("n", i))))
        .toList()
        .stream()
        .map(CompletableFuture::join)
        .toList();
  }

  private void assertAllCompleted(List<String> ids, int from) {
    for (int i = 0; i < ids.size(); i++) {
      WorkflowExecution wf = client.awaitWorkflow(ids.get(i), WAIT);
      assertEquals(WorkflowStatus.WORKFLOW_STATUS_COMPLETED, wf.status(), wf.reasonForIncompletion());
      assertEquals(Map.of("n", (long) (from + i)), wf.output().get("result"));
    }
  }

  @Test
  void batchingWorkerCompletesManyWorkflowsAndEveryBatchedResultIsAcknowledged() throws Exception {
    define("jb_many", "jb_echo");
    int slots = 32;
    // The first wave's handlers all wait for each other, so their results are ready together
    // and must leave in batches; the rest run as fast as they come.
    CountDownLatch together = new CountDownLatch(slots);
    Wire wire = new Wire();
    Acks acks = new Acks();
    Worker w =
        Worker.builder()
            .channel(ClientInterceptors.intercept(client.channel(), wire))
            .environment(Map.of())
            .listener(acks)
            .task(
                "jb_echo",
                task -> {
                  Object n = task.input("payload", Map.class).get("n");
                  if (((Number) n).intValue() < slots) {
                    together.countDown();
                    assertTrue(together.await(30, TimeUnit.SECONDS));
                  }
                  return Map.of("n", n);
                },
                TaskOptions.builder().concurrency(slots).build())
            .build();
    assertTrue(w.batching(), "batching is on by default");
    w.start();
    try {
      List<String> first = start("jb_many", slots, 0);
      assertAllCompleted(first, 0);
      int total = 400;
      List<String> rest = start("jb_many", total - slots, slots);
      assertAllCompleted(rest, slots);

      assertTrue(w.shutdown(Duration.ofSeconds(20)), "drained");
      assertEquals(1, wire.subscribedWithBatch.get());
      assertTrue(wire.resultBatches.get() > 0, "no ResultBatch was sent");
      assertTrue(wire.largestResultBatch.get() > 1);
      assertEquals(total, wire.singleResults.get() + wire.resultsInBatches.get(), "one result per task");
      assertEquals(total, acks.ok.size(), "every result acknowledged; refused: " + acks.refused);
      assertTrue(acks.refused.isEmpty(), acks.refused.toString());
      assertEquals(0, w.unacknowledgedResults());
      System.err.printf(
          "batching: %d results in %d batches (largest %d), %d alone; %d task batches, %d ack batches in%n",
          wire.resultsInBatches.get(),
          wire.resultBatches.get(),
          wire.largestResultBatch.get(),
          wire.singleResults.get(),
          wire.taskBatches.get(),
          wire.ackBatches.get());
    } finally {
      w.shutdown(Duration.ZERO);
    }
  }

  @Test
  void batchingCanBeTurnedOffByEnvironment() {
    define("jb_plain", "jb_plain_echo");
    Wire wire = new Wire();
    Acks acks = new Acks();
    try (Worker w =
        Worker.builder()
            .channel(ClientInterceptors.intercept(client.channel(), wire))
            .environment(Map.of("BATON_WORKER_BATCH", "0"))
            .listener(acks)
            .task(
                "jb_plain_echo",
                task -> Map.of("n", task.input("payload", Map.class).get("n")),
                TaskOptions.builder().concurrency(16).build())
            .build()
            .start()) {
      assertFalse(w.batching());
      List<String> ids = start("jb_plain", 100, 0);
      assertAllCompleted(ids, 0);
      assertEquals(0, wire.subscribedWithBatch.get());
      assertEquals(0, wire.resultBatches.get());
      assertEquals(0, wire.taskBatches.get());
      assertEquals(0, wire.ackBatches.get());
      assertEquals(100, wire.singleResults.get());
    }
    assertEquals(100, acks.ok.size());
  }
}
