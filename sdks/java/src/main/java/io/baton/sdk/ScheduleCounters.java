package io.baton.sdk;

/**
 * What became of a schedule's slots and runs since it was created.
 *
 * @param fired scheduled slots started
 * @param missed slots recorded as missed
 * @param skippedByOverlap slots skipped because runs were open
 * @param buffered slots that waited in the buffer
 * @param failedToStart starts that failed
 * @param succeeded runs that completed
 * @param failed runs that failed
 * @param manual manual runs started ({@link BatonClient#triggerSchedule(String)})
 * @param backfilled backfilled slots started
 */
public record ScheduleCounters(
    long fired,
    long missed,
    long skippedByOverlap,
    long buffered,
    long failedToStart,
    long succeeded,
    long failed,
    long manual,
    long backfilled) {

  static ScheduleCounters from(io.baton.v1.ScheduleCounters c) {
    return new ScheduleCounters(
        c.getFired(),
        c.getMissed(),
        c.getSkippedByOverlap(),
        c.getBuffered(),
        c.getFailedToStart(),
        c.getSucceeded(),
        c.getFailed(),
        c.getManual(),
        c.getBackfilled());
  }
}
