package io.baton.sdk;

import io.baton.v1.PreviewScheduleRequest;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * What to preview with {@link BatonClient#previewSchedule(PreviewSchedule)}: a saved schedule, a
 * definition that need not be saved, or one cron expression; and the range and number of slots.
 *
 * <pre>{@code
 * SchedulePreview p = client.previewSchedule(
 *     PreviewSchedule.ofCron("0 9 * * MON-FRI", "Europe/Paris").from(Instant.now()).limit(5));
 * }</pre>
 *
 * <p>The setters change this object and return it; it is not meant to be shared between threads
 * while being set up.
 */
public final class PreviewSchedule {
  private final PreviewScheduleRequest.Builder request = PreviewScheduleRequest.newBuilder();

  private PreviewSchedule() {}

  /**
   * Previews a saved schedule.
   *
   * @param name the schedule's name
   * @return the preview request
   */
  public static PreviewSchedule ofSaved(String name) {
    PreviewSchedule p = new PreviewSchedule();
    p.request.setName(Objects.requireNonNull(name, "name"));
    return p;
  }

  /**
   * Previews a definition without saving it.
   *
   * @param definition the definition as a map (Conductor's schedule JSON)
   * @return the preview request
   */
  public static PreviewSchedule ofDefinition(Map<String, ?> definition) {
    return ofDefinition(io.baton.sdk.internal.Json.write(Objects.requireNonNull(definition, "definition")));
  }

  /**
   * Previews a definition, given as JSON text, without saving it.
   *
   * @param json the definition as JSON text
   * @return the preview request
   */
  public static PreviewSchedule ofDefinition(String json) {
    PreviewSchedule p = new PreviewSchedule();
    p.request.setDefinitionJson(Objects.requireNonNull(json, "json"));
    return p;
  }

  /**
   * Previews one cron expression read in UTC.
   *
   * @param cronExpression the expression (5 fields; 6 with seconds first; 7 with a year last)
   * @return the preview request
   */
  public static PreviewSchedule ofCron(String cronExpression) {
    return ofCron(cronExpression, null);
  }

  /**
   * Previews one cron expression read in a zone.
   *
   * @param cronExpression the expression
   * @param zoneId the IANA zone; null or empty is UTC
   * @return the preview request
   */
  public static PreviewSchedule ofCron(String cronExpression, String zoneId) {
    PreviewSchedule p = new PreviewSchedule();
    p.request.setCronExpression(Objects.requireNonNull(cronExpression, "cronExpression"));
    if (zoneId != null) {
      p.request.setZoneId(zoneId);
    }
    return p;
  }

  /**
   * Sets the start of the range (exclusive); without it the range starts now.
   *
   * @param from the start, or null for now
   * @return this request
   */
  public PreviewSchedule from(Instant from) {
    if (from == null) {
      request.clearFromTime();
    } else {
      request.setFromTime(Structs.toTimestamp(from));
    }
    return this;
  }

  /**
   * Sets the end of the range (inclusive); without it the range ends a year after its start.
   *
   * @param until the end, or null for a year after the start
   * @return this request
   */
  public PreviewSchedule until(Instant until) {
    if (until == null) {
      request.clearUntilTime();
    } else {
      request.setUntilTime(Structs.toTimestamp(until));
    }
    return this;
  }

  /**
   * Sets the most slots to return; 0 (the default) returns 10.
   *
   * @param limit the most slots
   * @return this request
   */
  public PreviewSchedule limit(int limit) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must not be negative: " + limit);
    }
    request.setLimit(limit);
    return this;
  }

  /** @return the request message as it stands */
  public PreviewScheduleRequest toProto() {
    return request.build();
  }
}
