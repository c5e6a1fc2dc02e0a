package io.baton.sdk;

/**
 * The outcome for one schedule of {@link BatonClient#pauseSchedules} or {@link
 * BatonClient#resumeSchedules}.
 *
 * @param name the schedule's name
 * @param ok whether it was paused or resumed
 * @param error why not, when it was not; empty otherwise
 */
public record BulkScheduleOutcome(String name, boolean ok, String error) {

  static BulkScheduleOutcome from(io.baton.v1.BulkScheduleOutcome o) {
    return new BulkScheduleOutcome(o.getName(), o.getOk(), o.getError());
  }
}
