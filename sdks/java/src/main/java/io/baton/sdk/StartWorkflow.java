package io.baton.sdk;

import io.baton.v1.IdempotencyStrategy;
import io.baton.v1.StartWorkflowRequest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How to start a workflow execution. Build one with {@link #builder(String)}:
 *
 * <pre>{@code
 * StartWorkflow start = StartWorkflow.builder("order_flow")
 *     .input(Map.of("orderId", 42))
 *     .correlationId("order-42")
 *     .idempotencyKey("order-42", StartWorkflow.Idempotency.RETURN_EXISTING)
 *     .priority(10)
 *     .build();
 * }</pre>
 */
public final class StartWorkflow {
  /** What to do when a start names an idempotency key that was used before. */
  public enum Idempotency {
    /** Refuse the start with ALREADY_EXISTS. */
    FAIL,
    /** Return the id of the execution that used the key. */
    RETURN_EXISTING,
    /** Refuse only while that execution is running or paused; otherwise start anew. */
    FAIL_ON_RUNNING
  }

  private final StartWorkflowRequest request;

  private StartWorkflow(StartWorkflowRequest request) {
    this.request = request;
  }

  /**
   * Starts building a start request for a workflow definition.
   *
   * @param name the workflow definition name
   * @return a builder
   */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /**
   * A start request with only a name and an input.
   *
   * @param name the workflow definition name
   * @param input the workflow input (a map or a bean), may be null
   * @return the start request
   */
  public static StartWorkflow of(String name, Object input) {
    return builder(name).input(input).build();
  }

  /** @return the workflow definition name */
  public String name() {
    return request.getName();
  }

  /** @return the request as sent on the wire */
  public StartWorkflowRequest toProto() {
    return request;
  }

  /** Builder of {@link StartWorkflow}. */
  public static final class Builder {
    private final StartWorkflowRequest.Builder b = StartWorkflowRequest.newBuilder();
    private final Map<String, String> taskToDomain = new LinkedHashMap<>();

    private Builder(String name) {
      b.setName(Objects.requireNonNull(name, "name"));
    }

    /**
     * Runs the given definition version instead of the latest.
     *
     * @param version the version (0 means latest)
     * @return this builder
     */
    public Builder version(int version) {
      if (version > 0) {
        b.setVersion(version);
      } else {
        b.clearVersion();
      }
      return this;
    }

    /**
     * Sets the workflow input.
     *
     * @param input a map with string keys or a bean (converted through its JSON form); null
     *     means an empty input
     * @return this builder
     */
    public Builder input(Object input) {
      b.setInput(Structs.toStructFromObject(input));
      return this;
    }

    /**
     * Sets the caller-chosen id that groups related executions.
     *
     * @param correlationId the correlation id
     * @return this builder
     */
    public Builder correlationId(String correlationId) {
      b.setCorrelationId(correlationId == null ? "" : correlationId);
      return this;
    }

    /**
     * Makes the start idempotent.
     *
     * @param key the idempotency key
     * @param strategy what to do when the key was used before
     * @return this builder
     */
    public Builder idempotencyKey(String key, Idempotency strategy) {
      b.setIdempotencyKey(key == null ? "" : key);
      b.setIdempotencyStrategy(
          switch (strategy == null ? Idempotency.FAIL : strategy) {
            case FAIL -> IdempotencyStrategy.IDEMPOTENCY_STRATEGY_FAIL;
            case RETURN_EXISTING -> IdempotencyStrategy.IDEMPOTENCY_STRATEGY_RETURN_EXISTING;
            case FAIL_ON_RUNNING -> IdempotencyStrategy.IDEMPOTENCY_STRATEGY_FAIL_ON_RUNNING;
          });
      return this;
    }

    /**
     * Sets the priority 0-99; higher-priority tasks are handed out first within a queue.
     *
     * @param priority the priority
     * @return this builder
     */
    public Builder priority(int priority) {
      b.setPriority(priority);
      return this;
    }

    /**
     * Routes a task (or "*" for all tasks) to a domain.
     *
     * @param taskName the task definition name or "*"
     * @param domain the domain
     * @return this builder
     */
    public Builder taskToDomain(String taskName, String domain) {
      taskToDomain.put(taskName, domain);
      return this;
    }

    /**
     * Adds task-to-domain routes.
     *
     * @param mapping task definition name (or "*") to domain
     * @return this builder
     */
    public Builder taskToDomain(Map<String, String> mapping) {
      taskToDomain.putAll(mapping);
      return this;
    }

    /** @return the start request */
    public StartWorkflow build() {
      StartWorkflowRequest.Builder copy = b.clone();
      copy.putAllTaskToDomain(taskToDomain);
      return new StartWorkflow(copy.build());
    }
  }
}
