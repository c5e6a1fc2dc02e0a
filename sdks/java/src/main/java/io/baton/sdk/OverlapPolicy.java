package io.baton.sdk;

/**
 * What a schedule's run does when runs of the same schedule are still open. Given to {@link
 * BatonClient#triggerSchedule(String, Object, OverlapPolicy)} and {@link
 * BatonClient#backfillSchedule(String, java.time.Instant, java.time.Instant, OverlapPolicy)} it
 * overrides the schedule's own {@code overlapPolicy} for those runs.
 */
public enum OverlapPolicy {
  /** Do not start it. */
  SKIP,
  /** Start it when the open runs end; one waits at most, later ones are skipped. */
  BUFFER_ONE,
  /** Start each, in order, when the previous ones end. */
  BUFFER_ALL,
  /** Cancel the open runs and start it once they have ended. */
  CANCEL_OTHER,
  /** Terminate the open runs and start it at once. */
  TERMINATE_OTHER,
  /** Start it at once, alongside the open runs (the default of a schedule). */
  ALLOW_ALL
}
