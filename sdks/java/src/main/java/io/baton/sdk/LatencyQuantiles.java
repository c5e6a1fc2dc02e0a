package io.baton.sdk;

/**
 * Quantiles of one latency over some span of time, in milliseconds.
 *
 * @param count times measured; the quantiles are 0 when it is 0
 * @param p50Ms the median
 * @param p99Ms the 99th percentile
 * @param maxMs the longest
 */
public record LatencyQuantiles(long count, long p50Ms, long p99Ms, long maxMs) {

  static LatencyQuantiles from(io.baton.v1.LatencyQuantiles q) {
    return new LatencyQuantiles(q.getCount(), q.getP50Ms(), q.getP99Ms(), q.getMaxMs());
  }
}
