package io.baton.sdk;

/**
 * What {@link BatonClient#waitWorkflow(String, java.time.Duration, String)} saw when its wait
 * ended.
 *
 * @param workflow the execution as it stood when the wait ended, with its tasks
 * @param finished true when the execution was in a terminal status
 * @param taskRefFinished true when a task reference was waited for and that task had finished
 *     (its latest instance in a terminal status); always false without a reference
 */
public record WorkflowWait(WorkflowExecution workflow, boolean finished, boolean taskRefFinished) {

  /**
   * Whether the wait ended because what was waited for happened, not because time ran out.
   *
   * @param untilTaskRef the reference waited for, or empty/null for the whole execution
   * @return true when the execution finished, or the referenced task did
   */
  public boolean reached(String untilTaskRef) {
    return finished || (untilTaskRef != null && !untilTaskRef.isEmpty() && taskRefFinished);
  }
}
