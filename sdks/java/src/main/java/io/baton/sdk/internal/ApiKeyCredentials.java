package io.baton.sdk.internal;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * Sends an API key with every call, unary or streaming, as the metadata {@code authorization:
 * Bearer <key>}: what a server started with {@code --auth} requires. The key itself is never part
 * of a message or of {@link #toString()}.
 */
public final class ApiKeyCredentials extends CallCredentials {
  /** Environment variable: the API key to send when the code sets none. */
  public static final String API_KEY_ENV = "BATON_API_KEY";

  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String header;

  private ApiKeyCredentials(String key) {
    this.header = "Bearer " + key;
  }

  /**
   * Combines a key set in code with {@code BATON_API_KEY}: a key set in code (not null) wins
   * over the variable; a blank key, in code or in the variable, means none.
   *
   * @param explicit the key set in code, or null when the code sets none
   * @param env the environment
   * @return the credentials, or null when no key is to be sent
   * @throws IllegalArgumentException when the key holds characters a header cannot carry (a
   *     space inside it, a control or non-ASCII character); the message names where the key
   *     came from, never the key
   */
  public static ApiKeyCredentials resolve(String explicit, Map<String, String> env) {
    if (explicit != null) {
      return of(explicit, "the API key");
    }
    return of(env.get(API_KEY_ENV), API_KEY_ENV);
  }

  private static ApiKeyCredentials of(String key, String source) {
    if (key == null || key.isBlank()) {
      return null;
    }
    String k = key.strip();
    for (int i = 0; i < k.length(); i++) {
      char c = k.charAt(i);
      if (c <= ' ' || c > '~') {
        throw new IllegalArgumentException(
            source
                + " holds a character an authorization header cannot carry (at position "
                + i
                + "); an API key looks like bk_<id>_<secret>");
      }
    }
    return new ApiKeyCredentials(k);
  }

  @Override
  public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, header);
    applier.apply(headers);
  }

  /** @return a description without the key */
  @Override
  public String toString() {
    return "ApiKeyCredentials[authorization: Bearer (hidden)]";
  }
}
