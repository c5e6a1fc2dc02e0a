package io.baton.sdk;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The server's metrics history ({@link BatonClient#getMetricsHistory(int)}): key figures
 * sampled every ten seconds, kept in memory for an hour (so it starts over when the server
 * restarts).
 *
 * @param serverTime the server's clock when it answered
 * @param sampleEvery the length of each sample's interval
 * @param samples the samples, oldest first; empty until the first interval has passed
 */
public record MetricsHistory(Instant serverTime, Duration sampleEvery, List<MetricsSample> samples) {

  /** Copies the list: the record does not change. */
  public MetricsHistory {
    samples = List.copyOf(samples);
  }

  static MetricsHistory from(io.baton.v1.GetMetricsHistoryResponse r) {
    return new MetricsHistory(
        Structs.toInstant(r.getServerTime()),
        Duration.ofMillis(r.getSampleEveryMs()),
        r.getSamplesList().stream().map(MetricsSample::from).toList());
  }
}
