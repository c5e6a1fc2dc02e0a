package io.baton.sdk;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.google.protobuf.Value;
import io.baton.sdk.internal.Json;
import io.baton.v1.ScheduleView;
import io.grpc.Status;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A schedule as it stands on the server: its definition and its state.
 *
 * @param name the schedule's name
 * @param definition the definition in Conductor's schedule JSON (with Baton's extensions), with
 *     {@code paused}, {@code pausedReason}, {@code createTime} and {@code updatedTime} as they
 *     stand; whole numbers are {@link Long}s, as in {@link Structs}
 * @param definitionJson the same definition as the JSON text received
 * @param workflowName the workflow it starts
 * @param zoneId the IANA zone its cron expressions are read in
 * @param paused whether it is paused
 * @param note the note of the last pause or resume; empty when none was given
 * @param nextRunTime when the next slot fires (jitter included); null while paused, once
 *     {@code maxRuns} is reached or when no slot is left
 * @param lastFiredTime the latest scheduled slot started; null when none has
 * @param counters what became of its slots and runs
 * @param openRuns ids of its runs still open
 * @param buffered runs waiting for the open ones to end
 * @param consecutiveFailures failed runs (and starts) since the last success
 * @param exhausted whether {@code maxRuns} was reached
 * @param revision revision of the stored record; it grows with every change
 * @param createTime when it was created
 * @param updateTime when it was last changed
 * @param proto the schedule as received
 */
public record Schedule(
    String name,
    Map<String, Object> definition,
    String definitionJson,
    String workflowName,
    String zoneId,
    boolean paused,
    String note,
    Instant nextRunTime,
    Instant lastFiredTime,
    ScheduleCounters counters,
    List<String> openRuns,
    long buffered,
    long consecutiveFailures,
    boolean exhausted,
    long revision,
    Instant createTime,
    Instant updateTime,
    ScheduleView proto) {

  /**
   * Converts a schedule received from the server.
   *
   * @param v the schedule
   * @return its view
   */
  public static Schedule from(ScheduleView v) {
    return new Schedule(
        v.getName(),
        parseDefinition(v.getDefinitionJson()),
        v.getDefinitionJson(),
        v.getWorkflowName(),
        v.getZoneId(),
        v.getPaused(),
        v.getNote(),
        v.hasNextRunTime() ? Structs.toInstant(v.getNextRunTime()) : null,
        v.hasLastFiredTime() ? Structs.toInstant(v.getLastFiredTime()) : null,
        ScheduleCounters.from(v.getCounters()),
        List.copyOf(v.getOpenRunsList()),
        v.getBuffered(),
        v.getConsecutiveFailures(),
        v.getExhausted(),
        v.getRevision(),
        Structs.toInstant(v.getCreateTime()),
        Structs.toInstant(v.getUpdateTime()),
        v);
  }

  /** Reads definition JSON as a map, with numbers as {@link Structs} gives them. */
  private static Map<String, Object> parseDefinition(String json) {
    if (json == null || json.isBlank()) {
      return new LinkedHashMap<>();
    }
    try {
      Value v = Structs.toValue(Json.mapper().readTree(json));
      if (v.getKindCase() != Value.KindCase.STRUCT_VALUE) {
        throw new BatonException(Status.Code.INTERNAL, "schedule definition is not a JSON object", null);
      }
      return Structs.toMap(v.getStructValue());
    } catch (JsonProcessingException e) {
      throw new BatonException(
          Status.Code.INTERNAL, "server sent a schedule definition that is not JSON: " + e.getMessage(), e);
    }
  }
}
