package io.baton.sdk.testlog;

import java.time.LocalTime;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.event.LoggingEvent;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.spi.LoggingEventAware;

/**
 * Records every event at DEBUG and above in {@link CapturedLogs}, and prints WARN and ERROR to
 * standard error. Fluent calls ({@code atInfo().addKeyValue(...)}) arrive as {@link LoggingEvent}s
 * with their key-value pairs intact.
 */
final class CaptureLogger extends LegacyAbstractLogger implements LoggingEventAware {
  private static final long serialVersionUID = 1L;

  CaptureLogger(String name) {
    this.name = name;
  }

  @Override
  public void log(LoggingEvent event) {
    Map<String, Object> kv = new LinkedHashMap<>();
    if (event.getKeyValuePairs() != null) {
      event.getKeyValuePairs().forEach(p -> kv.put(p.key, p.value));
    }
    String message =
        event.getArguments() == null || event.getArguments().isEmpty()
            ? event.getMessage()
            : MessageFormatter.basicArrayFormat(event.getMessage(), event.getArgumentArray());
    record(event.getLevel(), message, kv, event.getThrowable());
  }

  @Override
  protected void handleNormalizedLoggingCall(
      Level level, Marker marker, String pattern, Object[] args, Throwable t) {
    record(level, MessageFormatter.basicArrayFormat(pattern, args), new LinkedHashMap<>(), t);
  }

  private void record(Level level, String message, Map<String, Object> kv, Throwable t) {
    CapturedLogs.add(new CapturedLogs.Event(name, level, message, CapturedLogs.copy(kv), t));
    if (level.toInt() >= Level.WARN.toInt()) {
      System.err.println(
          LocalTime.now() + " " + level + " " + name + ": " + message + " " + kv
              + (t == null ? "" : " (" + t + ")"));
    }
  }

  @Override
  protected String getFullyQualifiedCallerName() {
    return null;
  }

  @Override
  public boolean isTraceEnabled() {
    return false;
  }

  @Override
  public boolean isDebugEnabled() {
    return true;
  }

  @Override
  public boolean isInfoEnabled() {
    return true;
  }

  @Override
  public boolean isWarnEnabled() {
    return true;
  }

  @Override
  public boolean isErrorEnabled() {
    return true;
  }
}
