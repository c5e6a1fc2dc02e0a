package io.baton.sdk;

import java.time.Instant;

/**
 * An API key as the server stores it: never its secret, which is shown once, by {@link
 * BatonClient#createApiKey(String, Role)}.
 *
 * @param id the key's id: public, named in the audit log as the actor, Conductor's {@code keyId}
 * @param name the name given at creation
 * @param role what the key may do; null when the server names a role unknown to this SDK
 * @param createdAt when it was made
 * @param createdBy the id of the key that made it, or {@code bootstrap}
 * @param revokedAt when it was revoked; null while it is live
 */
public record ApiKey(
    String id, String name, Role role, Instant createdAt, String createdBy, Instant revokedAt) {

  static ApiKey from(io.baton.v1.ApiKey k) {
    return new ApiKey(
        k.getId(),
        k.getName(),
        Role.from(k.getRole()),
        Structs.toInstant(k.getCreatedAt()),
        k.getCreatedBy(),
        k.hasRevokedAt() ? Structs.toInstant(k.getRevokedAt()) : null);
  }

  /** @return true once the key is revoked: it, and every token made from it, is refused */
  public boolean revoked() {
    return revokedAt != null;
  }
}
