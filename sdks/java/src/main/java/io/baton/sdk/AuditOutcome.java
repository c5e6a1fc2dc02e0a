package io.baton.sdk;

/** How a request recorded in the audit log ended. */
public enum AuditOutcome {
  /** Done. */
  OK,
  /** Refused: no or bad credentials, or a role that does not allow it. Nothing was done. */
  DENIED,
  /** Allowed, but it failed (not found, invalid, a wrong state...). */
  FAILED;

  /**
   * The outcome of a message.
   *
   * @param outcome the outcome as received
   * @return the outcome; null when unset or unknown to this SDK
   */
  static AuditOutcome from(io.baton.v1.AuditOutcome outcome) {
    return switch (outcome) {
      case AUDIT_OUTCOME_OK -> OK;
      case AUDIT_OUTCOME_DENIED -> DENIED;
      case AUDIT_OUTCOME_FAILED -> FAILED;
      default -> null;
    };
  }

  /** @return the outcome as the message field */
  io.baton.v1.AuditOutcome toProto() {
    return switch (this) {
      case OK -> io.baton.v1.AuditOutcome.AUDIT_OUTCOME_OK;
      case DENIED -> io.baton.v1.AuditOutcome.AUDIT_OUTCOME_DENIED;
      case FAILED -> io.baton.v1.AuditOutcome.AUDIT_OUTCOME_FAILED;
    };
  }
}
