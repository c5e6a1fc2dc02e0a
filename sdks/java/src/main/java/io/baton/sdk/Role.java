package io.baton.sdk;

/**
 * What an API key may do on a server started with {@code --auth}. Given to {@link
 * BatonClient#createApiKey(String, Role)}; read back on {@link ApiKey} and {@link AuditEvent}.
 */
public enum Role {
  /** Everything: definitions, API keys, the audit log, and what every other role may do. */
  ADMIN,
  /** Starts and steers workflows and schedules; reads everything but keys and the audit log. */
  OPERATOR,
  /** Takes tasks and reports their results: the worker stream, polling, results, leases, logs. */
  WORKER,
  /** Reads; changes nothing. */
  VIEWER;

  /**
   * The role of a message.
   *
   * @param role the role as received
   * @return the role; null when unset or unknown to this SDK
   */
  static Role from(io.baton.v1.Role role) {
    return switch (role) {
      case ROLE_ADMIN -> ADMIN;
      case ROLE_OPERATOR -> OPERATOR;
      case ROLE_WORKER -> WORKER;
      case ROLE_VIEWER -> VIEWER;
      default -> null;
    };
  }

  /** @return the role as the message field */
  io.baton.v1.Role toProto() {
    return switch (this) {
      case ADMIN -> io.baton.v1.Role.ROLE_ADMIN;
      case OPERATOR -> io.baton.v1.Role.ROLE_OPERATOR;
      case WORKER -> io.baton.v1.Role.ROLE_WORKER;
      case VIEWER -> io.baton.v1.Role.ROLE_VIEWER;
    };
  }
}
