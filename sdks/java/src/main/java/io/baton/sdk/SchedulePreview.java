package io.baton.sdk;

import io.baton.v1.PreviewScheduleResponse;
import java.time.Instant;
import java.util.List;

/**
 * The slots a schedule (saved or not) or a cron expression fires in a range.
 *
 * @param slots the slots found, in order
 * @param truncated true when more slots were left in the range
 * @param zoneId the zone the slots were computed in
 */
public record SchedulePreview(List<ScheduleSlot> slots, boolean truncated, String zoneId) {

  static SchedulePreview from(PreviewScheduleResponse r) {
    return new SchedulePreview(
        r.getSlotsList().stream().map(ScheduleSlot::from).toList(), r.getTruncated(), r.getZoneId());
  }

  /** @return the instants of the slots, in order */
  public List<Instant> times() {
    return slots.stream().map(ScheduleSlot::time).toList();
  }
}
