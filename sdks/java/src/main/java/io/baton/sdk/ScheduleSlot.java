package io.baton.sdk;

import java.time.Instant;

/**
 * One time a schedule fires.
 *
 * @param time the instant
 * @param spec the spec that produced it: a cron expression, or {@code "@every <n>s"} for an
 *     interval
 * @param specIndex index of the spec ({@code cronExpression} first, then {@code cronSchedules},
 *     then {@code intervals})
 */
public record ScheduleSlot(Instant time, String spec, int specIndex) {

  static ScheduleSlot from(io.baton.v1.ScheduleSlot s) {
    return new ScheduleSlot(Structs.toInstant(s.getTime()), s.getSpec(), s.getSpecIndex());
  }
}
