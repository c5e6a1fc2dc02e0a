package io.baton.sdk.worker;

/**
 * Per-task-type settings. Unset values fall back to the worker's defaults. Environment
 * variables override code: {@code BATON_WORKER_<TYPE>_CONCURRENCY}, {@code
 * BATON_WORKER_<TYPE>_DOMAIN} and {@code BATON_WORKER_<TYPE>_LEASE_EXTENSION}, where
 * {@code <TYPE>} is the task type upper-cased with every character other than a letter or digit
 * replaced by '_' (so {@code count_letters} reads {@code BATON_WORKER_COUNT_LETTERS_CONCURRENCY}).
 */
public final class TaskOptions {
  final Integer concurrency;
  final String domain;
  final Boolean leaseExtension;

  private TaskOptions(Builder b) {
    this.concurrency = b.concurrency;
    this.domain = b.domain;
    this.leaseExtension = b.leaseExtension;
  }

  /** @return options that set nothing */
  public static TaskOptions defaults() {
    return builder().build();
  }

  /** @return a builder */
  public static Builder builder() {
    return new Builder();
  }

  /** Builder of {@link TaskOptions}. */
  public static final class Builder {
    private Integer concurrency;
    private String domain;
    private Boolean leaseExtension;

    private Builder() {}

    /**
     * How many tasks of this type run at once (the thread pool size and the stream's credit).
     *
     * @param concurrency at least 1
     * @return this builder
     */
    public Builder concurrency(int concurrency) {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1");
      }
      this.concurrency = concurrency;
      return this;
    }

    /**
     * The domain to take tasks from.
     *
     * @param domain the domain; empty for the default queue
     * @return this builder
     */
    public Builder domain(String domain) {
      this.domain = domain;
      return this;
    }

    /**
     * Whether to extend the lease of a running task automatically at about 80% of its
     * responseTimeoutSeconds (default on). With it off, a task that runs longer than its response
     * timeout is timed out by the server and retried.
     *
     * @param enabled on or off
     * @return this builder
     */
    public Builder leaseExtension(boolean enabled) {
      this.leaseExtension = enabled;
      return this;
    }

    /** @return the options */
    public TaskOptions build() {
      return new TaskOptions(this);
    }
  }
}
