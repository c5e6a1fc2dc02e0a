package io.baton.sdk;

import java.util.List;

/**
 * One page of the task instances of an execution.
 *
 * @param tasks the tasks of the page, in scheduling order
 * @param total how many tasks match over all pages
 * @param nextOffset offset of the next page; 0 when this page is the last
 */
public record TaskPage(List<TaskInstance> tasks, int total, int nextOffset) {
  /** Copies the list. */
  public TaskPage {
    tasks = List.copyOf(tasks);
  }

  /** @return whether another page follows */
  public boolean hasMore() {
    return nextOffset > 0;
  }
}
