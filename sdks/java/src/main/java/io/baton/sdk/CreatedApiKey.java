package io.baton.sdk;

/**
 * A key just made by {@link BatonClient#createApiKey(String, Role)}, with its text: the server
 * keeps only a digest of the secret, so this is the one time it can be read. {@link #toString()}
 * leaves the key text and the secret out.
 *
 * @param key the stored key
 * @param keyText the whole key, {@code bk_<id>_<secret>}: what a client or worker is given with
 *     {@code apiKey(...)} or {@code BATON_API_KEY}, and sends as {@code authorization: Bearer}
 * @param secret the secret part alone: Conductor's {@code keySecret} (the id is its {@code
 *     keyId})
 */
public record CreatedApiKey(ApiKey key, String keyText, String secret) {

  static CreatedApiKey from(io.baton.v1.CreateApiKeyResponse r) {
    return new CreatedApiKey(ApiKey.from(r.getKey()), r.getKeyText(), r.getSecret());
  }

  /** @return the key's id (as {@code key().id()}) */
  public String id() {
    return key.id();
  }

  /** @return the stored key, without its text or secret */
  @Override
  public String toString() {
    return "CreatedApiKey[key=" + key + ", keyText=(hidden), secret=(hidden)]";
  }
}
