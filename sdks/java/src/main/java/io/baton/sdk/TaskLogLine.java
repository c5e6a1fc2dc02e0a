package io.baton.sdk;

import java.time.Instant;

/**
 * One log line a worker wrote while running a task.
 *
 * @param message the text
 * @param time when it was written
 */
public record TaskLogLine(String message, Instant time) {}
