package io.baton.sdk.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Settings from code and environment variables (no server involved: workers are not started). */
class WorkerConfigTest {
  private static Worker.Builder base() {
    return Worker.builder()
        .target("127.0.0.1:1")
        .concurrency(4)
        .domain("base")
        .task("count_letters", t -> null)
        .task("other.type", t -> null, TaskOptions.builder().concurrency(2).domain("own").build());
  }

  @Test
  void codeSettings() {
    Worker w = base().workerId("w-1").environment(Map.of()).build();
    try {
      assertEquals("w-1", w.workerId());
      assertEquals(4, w.concurrency("count_letters"));
      assertEquals("base", w.domain("count_letters"));
      assertEquals(2, w.concurrency("other.type"));
      assertEquals("own", w.domain("other.type"));
    } finally {
      w.shutdown(Duration.ZERO);
    }
  }

  @Test
  void environmentOverridesCode() {
    Worker w =
        base()
            .workerId("w-1")
            .environment(
                Map.of(
                    "BATON_WORKER_ID", "from-env",
                    "BATON_WORKER_COUNT_LETTERS_CONCURRENCY", "16",
                    "BATON_WORKER_COUNT_LETTERS_DOMAIN", "blue",
                    "BATON_WORKER_CONCURRENCY", "9",
                    "BATON_WORKER_OTHER_TYPE_DOMAIN", "red"))
            .build();
    try {
      assertEquals("from-env", w.workerId());
      assertEquals(16, w.concurrency("count_letters"));
      assertEquals("blue", w.domain("count_letters"));
      assertEquals(9, w.concurrency("other.type"));
      assertEquals("red", w.domain("other.type"));
    } finally {
      w.shutdown(Duration.ZERO);
    }
  }

  @Test
  void envNameNormalisesTaskType() {
    assertEquals("COUNT_LETTERS", Worker.envName("count_letters"));
    assertEquals("A_B_C1", Worker.envName("a.b-c1"));
  }

  @Test
  void duplicateAndMissingHandlersAreRefused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> Worker.builder().task("a", t -> null).task("a", t -> null));
    assertThrows(IllegalStateException.class, () -> Worker.builder().build());
  }
}
