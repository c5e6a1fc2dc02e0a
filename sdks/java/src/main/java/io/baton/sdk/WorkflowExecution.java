package io.baton.sdk;

import io.baton.sdk.internal.Json;
import io.baton.v1.Workflow;
import io.baton.v1.WorkflowStatus;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One workflow execution as read from the server.
 *
 * @param workflowId id of the execution
 * @param workflowName name of its definition
 * @param workflowVersion version of its definition
 * @param status current status
 * @param input the start input
 * @param output the workflow output (set when it completes)
 * @param variables workflow variables
 * @param correlationId caller-chosen grouping id
 * @param priority priority given at start
 * @param reasonForIncompletion why it did not complete, if it did not
 * @param failedReferenceTaskName the task whose failure ended it, if any
 * @param tasks task instances in scheduling order (empty when not asked for)
 * @param createTime when it was created
 * @param endTime when it reached a terminal status, or null
 * @param proto the execution as received
 */
public record WorkflowExecution(
    String workflowId,
    String workflowName,
    int workflowVersion,
    WorkflowStatus status,
    Map<String, Object> input,
    Map<String, Object> output,
    Map<String, Object> variables,
    String correlationId,
    int priority,
    String reasonForIncompletion,
    String failedReferenceTaskName,
    List<TaskInstance> tasks,
    Instant createTime,
    Instant endTime,
    Workflow proto) {

  /**
   * Converts an execution received from the server.
   *
   * @param w the execution
   * @return its view
   */
  public static WorkflowExecution from(Workflow w) {
    return new WorkflowExecution(
        w.getWorkflowId(),
        w.getWorkflowName(),
        w.getWorkflowVersion(),
        w.getStatus(),
        Structs.toMap(w.getInput()),
        Structs.toMap(w.getOutput()),
        Structs.toMap(w.getVariables()),
        w.getCorrelationId(),
        w.getPriority(),
        w.getReasonForIncompletion(),
        w.getFailedReferenceTaskName(),
        w.getTasksList().stream().map(TaskInstance::from).toList(),
        Structs.toInstant(w.getCreateTime()),
        Structs.toInstant(w.getEndTime()),
        w);
  }

  /** @return true when the execution is completed, failed, timed out or terminated */
  public boolean isTerminal() {
    return switch (status) {
      case WORKFLOW_STATUS_COMPLETED,
          WORKFLOW_STATUS_FAILED,
          WORKFLOW_STATUS_TIMED_OUT,
          WORKFLOW_STATUS_TERMINATED -> true;
      default -> false;
    };
  }

  /** @return true when the execution completed successfully */
  public boolean isCompleted() {
    return status == WorkflowStatus.WORKFLOW_STATUS_COMPLETED;
  }

  /**
   * Converts the workflow output into a typed object.
   *
   * @param type the target type
   * @param <T> the target type
   * @return the output as that type
   */
  public <T> T outputAs(Class<T> type) {
    return Json.convert(output, type);
  }

  /**
   * Finds the latest instance of a task by its reference name.
   *
   * @param referenceTaskName the reference name
   * @return the last instance scheduled under that name, if any
   */
  public Optional<TaskInstance> task(String referenceTaskName) {
    TaskInstance found = null;
    for (TaskInstance t : tasks) {
      if (t.referenceTaskName().equals(referenceTaskName)) {
        found = t;
      }
    }
    return Optional.ofNullable(found);
  }
}
