package io.baton.sdk.internal;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Creates plaintext channels to a Baton server and reads the server address from the environment. */
public final class Channels {
  /** The address used when neither code nor environment names one. */
  public static final String DEFAULT_TARGET = "127.0.0.1:7070";

  private Channels() {}

  /**
   * The server address from {@code BATON_SERVER}, or the default.
   *
   * @param env the environment
   * @return host:port
   */
  public static String targetFromEnv(Map<String, String> env) {
    String t = env.get("BATON_SERVER");
    return t == null || t.isBlank() ? DEFAULT_TARGET : t.trim();
  }

  /**
   * Opens a plaintext channel. Accepts {@code host:port}, {@code http://host:port} or any gRPC
   * target string.
   *
   * @param target the address
   * @return the channel
   */
  public static ManagedChannel open(String target) {
    String t = target.trim();
    if (t.startsWith("http://")) {
      t = t.substring("http://".length());
    }
    while (t.endsWith("/")) {
      t = t.substring(0, t.length() - 1);
    }
    return ManagedChannelBuilder.forTarget(t)
        .usePlaintext()
        .keepAliveTime(30, TimeUnit.SECONDS)
        .keepAliveTimeout(10, TimeUnit.SECONDS)
        .maxInboundMessageSize(64 * 1024 * 1024)
        .build();
  }

  /**
   * Shuts a channel down, waiting briefly for calls to end.
   *
   * @param channel the channel
   */
  public static void close(ManagedChannel channel) {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
