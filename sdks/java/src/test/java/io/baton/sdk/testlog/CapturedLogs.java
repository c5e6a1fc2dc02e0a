package io.baton.sdk.testlog;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.slf4j.event.Level;

/**
 * The log records of the test JVM, as the SLF4J backend of the tests ({@link CaptureProvider})
 * received them: level, message and key-value pairs. Keeps the latest 20,000.
 */
public final class CapturedLogs {
  private static final int KEEP = 20_000;
  private static final Deque<Event> EVENTS = new ArrayDeque<>();

  private CapturedLogs() {}

  /** One log record. */
  public record Event(
      String logger, Level level, String message, Map<String, Object> keyValues, Throwable cause) {
    /** @return the value of a key, or null */
    public Object get(String key) {
      return keyValues.get(key);
    }

    @Override
    public String toString() {
      return level + " " + message + " " + keyValues;
    }
  }

  static void add(Event e) {
    synchronized (EVENTS) {
      if (EVENTS.size() >= KEEP) {
        EVENTS.removeFirst();
      }
      EVENTS.addLast(e);
    }
  }

  /** @return the records kept, oldest first */
  public static List<Event> all() {
    synchronized (EVENTS) {
      return Collections.unmodifiableList(new ArrayList<>(EVENTS));
    }
  }

  /** @return the records with this message whose key-values match */
  public static List<Event> find(String message, Predicate<Event> match) {
    return all().stream().filter(e -> e.message().equals(message) && match.test(e)).toList();
  }

  static Map<String, Object> copy(Map<String, Object> kv) {
    return Collections.unmodifiableMap(new LinkedHashMap<>(kv));
  }
}
