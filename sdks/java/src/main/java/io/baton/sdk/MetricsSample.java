package io.baton.sdk;

import java.time.Duration;
import java.time.Instant;

/**
 * One sample of the server's metrics history: what happened in one interval (ten seconds,
 * the first one running from the server's start), and the queues and workers at its end.
 *
 * @param at the end of the interval
 * @param interval the length of the interval
 * @param workflowsStarted workflows started
 * @param workflowsCompleted workflows that ended COMPLETED
 * @param workflowsFailed workflows that ended FAILED or TIMED_OUT
 * @param workflowsTerminated workflows terminated
 * @param tasksCompleted tasks that ended COMPLETED or COMPLETED_WITH_ERRORS
 * @param tasksFailed tasks that ended FAILED, FAILED_WITH_TERMINAL_ERROR or TIMED_OUT
 * @param queueWait worker tasks' wait from ready in their queue to handed to a worker
 * @param runTime tasks' run time from started to ended
 * @param queueDepth tasks waiting in every ready queue at the end of the interval
 * @param workers stream worker subscriptions at the end of the interval (one per worker and
 *     task type)
 */
public record MetricsSample(
    Instant at,
    Duration interval,
    long workflowsStarted,
    long workflowsCompleted,
    long workflowsFailed,
    long workflowsTerminated,
    long tasksCompleted,
    long tasksFailed,
    LatencyQuantiles queueWait,
    LatencyQuantiles runTime,
    long queueDepth,
    long workers) {

  static MetricsSample from(io.baton.v1.MetricsSample s) {
    return new MetricsSample(
        Structs.toInstant(s.getAt()),
        Duration.ofMillis(s.getIntervalMs()),
        s.getWorkflowsStarted(),
        s.getWorkflowsCompleted(),
        s.getWorkflowsFailed(),
        s.getWorkflowsTerminated(),
        s.getTasksCompleted(),
        s.getTasksFailed(),
        LatencyQuantiles.from(s.getQueueWait()),
        LatencyQuantiles.from(s.getRunTime()),
        s.getQueueDepth(),
        s.getWorkers());
  }
}
