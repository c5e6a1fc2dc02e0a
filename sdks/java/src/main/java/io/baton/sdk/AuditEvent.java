package io.baton.sdk;

import java.time.Instant;

/**
 * One entry of the server's audit log: a request that changed something (a start, a steer, a
 * definition, an admin call) or any refused request. Never holds a secret or a request body.
 *
 * @param seq its place in the log: later entries have larger ones (give the last one of a page
 *     to {@link AuditQuery#before(long)} for the next page)
 * @param time when the request was answered
 * @param actor the caller's key id; {@code anonymous} without credentials
 * @param actorName the key's name; empty when not known
 * @param role the caller's role; null when not known
 * @param action what was asked: the gRPC method ({@code /baton.v1.WorkflowService/StartWorkflow})
 *     or the HTTP method and path
 * @param access the kind of access it needed: {@code public}, {@code read}, {@code operate},
 *     {@code work}, {@code define} or {@code admin}
 * @param remote the caller's address
 * @param outcome how it ended; null when the server names an outcome unknown to this SDK
 * @param status the answer's status: a gRPC code name or an HTTP status number
 * @param reason why it was refused or failed; empty when not known
 */
public record AuditEvent(
    long seq,
    Instant time,
    String actor,
    String actorName,
    Role role,
    String action,
    String access,
    String remote,
    AuditOutcome outcome,
    String status,
    String reason) {

  static AuditEvent from(io.baton.v1.AuditEvent e) {
    return new AuditEvent(
        e.getSeq(),
        Structs.toInstant(e.getTime()),
        e.getActor(),
        e.getActorName(),
        Role.from(e.getRole()),
        e.getAction(),
        e.getAccess(),
        e.getRemote(),
        AuditOutcome.from(e.getOutcome()),
        e.getStatus(),
        e.getReason());
  }
}
