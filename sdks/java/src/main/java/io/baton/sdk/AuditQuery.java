package io.baton.sdk;

import io.baton.v1.ListAuditEventsRequest;
import java.time.Instant;

/**
 * Which audit entries {@link BatonClient#listAuditEvents(AuditQuery)} reads: every setting left
 * out matches everything, and entries come newest first, 100 at a time unless {@link #limit}
 * says otherwise.
 *
 * <pre>{@code
 * List<AuditEvent> refused = client.listAuditEvents(
 *     new AuditQuery()
 *         .outcome(AuditOutcome.DENIED)
 *         .since(Instant.now().minus(Duration.ofHours(1))));
 * }</pre>
 *
 * <p>The setters change this object and return it; it is not meant to be shared between threads
 * while being set up.
 */
public final class AuditQuery {
  private final ListAuditEventsRequest.Builder request = ListAuditEventsRequest.newBuilder();

  /** A query matching every entry: the newest 100. */
  public AuditQuery() {}

  /**
   * Only entries of this caller.
   *
   * @param actor a key id or a key's name, exactly; null or empty for any caller
   * @return this query
   */
  public AuditQuery actor(String actor) {
    request.setActor(actor == null ? "" : actor);
    return this;
  }

  /**
   * Only entries whose action contains this text, case-insensitively ({@code StartWorkflow}
   * matches {@code /baton.v1.WorkflowService/StartWorkflow}).
   *
   * @param action the text; null or empty for any action
   * @return this query
   */
  public AuditQuery action(String action) {
    request.setAction(action == null ? "" : action);
    return this;
  }

  /**
   * Only entries that ended this way.
   *
   * @param outcome the outcome; null for any
   * @return this query
   */
  public AuditQuery outcome(AuditOutcome outcome) {
    if (outcome == null) {
      request.clearOutcome();
    } else {
      request.setOutcome(outcome.toProto());
    }
    return this;
  }

  /**
   * Only entries at or after this time.
   *
   * @param since the earliest time; null for no bound
   * @return this query
   */
  public AuditQuery since(Instant since) {
    if (since == null) {
      request.clearSince();
    } else {
      request.setSince(Structs.toTimestamp(since));
    }
    return this;
  }

  /**
   * Only entries before this time.
   *
   * @param until the end (exclusive); null for no bound
   * @return this query
   */
  public AuditQuery until(Instant until) {
    if (until == null) {
      request.clearUntil();
    } else {
      request.setUntil(Structs.toTimestamp(until));
    }
    return this;
  }

  /**
   * Only entries older than this one: the next page after one ending with the entry whose
   * {@link AuditEvent#seq()} this is.
   *
   * @param seq the {@code seq} of the last entry of the previous page; 0 starts at the newest
   * @return this query
   */
  public AuditQuery before(long seq) {
    if (seq < 0) {
      throw new IllegalArgumentException("before must not be negative: " + seq);
    }
    request.setBefore(seq);
    return this;
  }

  /**
   * Sets the most entries to read.
   *
   * @param limit 1 to 1000; 0 (the default) reads 100
   * @return this query
   */
  public AuditQuery limit(int limit) {
    if (limit < 0 || limit > 1000) {
      throw new IllegalArgumentException("limit must be 0 to 1000: " + limit);
    }
    request.setLimit(limit);
    return this;
  }

  /** @return the request message as it stands */
  public ListAuditEventsRequest toProto() {
    return request.build();
  }
}
