package io.baton.sdk;

import java.time.Instant;
import java.util.Map;

/**
 * One entry of a schedule's history.
 *
 * @param slotTime the slot it is about; the time of the change for entries about the schedule
 *     as a whole
 * @param recordTime when it was recorded
 * @param event what happened: {@code {"type": "STARTED", "workflowId", "kind", "shardIndex"}},
 *     {@code {"type": "RECORD", "outcome", "reason"}} or {@code {"type": "ALERT", "kind",
 *     "message"}}
 */
public record ScheduleHistoryEntry(Instant slotTime, Instant recordTime, Map<String, Object> event) {

  static ScheduleHistoryEntry from(io.baton.v1.ScheduleHistoryEntry e) {
    return new ScheduleHistoryEntry(
        Structs.toInstant(e.getSlotTime()),
        Structs.toInstant(e.getRecordTime()),
        Structs.toMap(e.getEvent()));
  }

  /** @return the event's {@code type} ({@code STARTED}, {@code RECORD}, {@code ALERT}), or "" */
  public String type() {
    Object t = event.get("type");
    return t == null ? "" : t.toString();
  }

  /** @return the id of the workflow a {@code STARTED} entry started, or null */
  public String workflowId() {
    Object id = event.get("workflowId");
    return id == null ? null : id.toString();
  }
}
