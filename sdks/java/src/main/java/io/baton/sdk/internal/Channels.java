package io.baton.sdk.internal;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.TlsChannelCredentials;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * Creates channels to a Baton server, plain text or TLS, and reads the server address and the
 * TLS files from the environment.
 *
 * <p>The address decides the transport: {@code https://host:port} is TLS; {@code
 * http://host:port} is plain text, and an error when a CA file or a client certificate is
 * configured; a bare {@code host:port} is plain text unless a CA file or a client certificate is
 * configured, then TLS. TLS trusts the CA file when one is given, else the system's roots, and
 * checks the server's certificate against the host of the address.
 */
public final class Channels {
  /** The address used when neither code nor environment names one. */
  public static final String DEFAULT_TARGET = "127.0.0.1:7070";

  /** Environment variable: the server address. */
  public static final String SERVER_ENV = "BATON_SERVER";

  /** Environment variable: a PEM file of the certificate authorities to trust. */
  public static final String CA_FILE_ENV = "BATON_CA_FILE";

  /** Environment variable: a PEM file of the client certificate chain (mutual TLS). */
  public static final String CLIENT_CERT_ENV = "BATON_CLIENT_CERT";

  /** Environment variable: a PEM file of the client certificate's private key (mutual TLS). */
  public static final String CLIENT_KEY_ENV = "BATON_CLIENT_KEY";

  private static final int MAX_INBOUND_MESSAGE_BYTES = 64 * 1024 * 1024;

  private Channels() {}

  /**
   * The TLS files of a connection, after explicit settings and the environment are combined.
   * Every field may be null; the certificate chain and its key are both set or both null.
   *
   * @param caFile the certificate authorities to trust, or null for the system's roots
   * @param certificateChain the client certificate chain presented for mutual TLS, or null
   * @param privateKey the private key of {@code certificateChain}, or null
   */
  public record TlsFiles(Path caFile, Path certificateChain, Path privateKey) {
    /** No TLS file configured. */
    public static final TlsFiles NONE = new TlsFiles(null, null, null);

    /**
     * Checks that the certificate chain and its key come together.
     *
     * @param caFile the certificate authorities to trust, or null
     * @param certificateChain the client certificate chain, or null
     * @param privateKey its private key, or null
     */
    public TlsFiles {
      if ((certificateChain == null) != (privateKey == null)) {
        throw new IllegalArgumentException(
            certificateChain == null
                ? "a client key is set without its client certificate"
                : "a client certificate is set without its client key");
      }
    }

    /**
     * Combines explicit settings with {@code BATON_CA_FILE}, {@code BATON_CLIENT_CERT} and
     * {@code BATON_CLIENT_KEY}: an explicit CA file wins over the variable, an explicit client
     * certificate (with its key) over both certificate variables. Blank variables count as unset.
     *
     * @param caFile the explicit CA file, or null
     * @param certificateChain the explicit client certificate chain, or null
     * @param privateKey its explicit private key, or null
     * @param env the environment
     * @return the files to use
     * @throws IllegalArgumentException when only one of the client certificate and its key is
     *     set (the message names the missing one)
     */
    public static TlsFiles resolve(
        Path caFile, Path certificateChain, Path privateKey, Map<String, String> env) {
      Path ca = caFile != null ? caFile : pathFromEnv(env, CA_FILE_ENV);
      if (certificateChain != null || privateKey != null) {
        return new TlsFiles(ca, certificateChain, privateKey);
      }
      Path cert = pathFromEnv(env, CLIENT_CERT_ENV);
      Path key = pathFromEnv(env, CLIENT_KEY_ENV);
      if (cert != null && key == null) {
        throw new IllegalArgumentException(
            CLIENT_CERT_ENV + " is set but " + CLIENT_KEY_ENV + " is not: the client key is missing");
      }
      if (key != null && cert == null) {
        throw new IllegalArgumentException(
            CLIENT_KEY_ENV
                + " is set but "
                + CLIENT_CERT_ENV
                + " is not: the client certificate is missing");
      }
      return new TlsFiles(ca, cert, key);
    }

    /** @return true when a CA file or a client certificate is configured */
    public boolean any() {
      return caFile != null || certificateChain != null;
    }

    private String described() {
      List<String> parts = new ArrayList<>();
      if (caFile != null) {
        parts.add("a CA file (" + caFile + ")");
      }
      if (certificateChain != null) {
        parts.add("a client certificate (" + certificateChain + ")");
      }
      return String.join(" and ", parts);
    }
  }

  private static Path pathFromEnv(Map<String, String> env, String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? null : Path.of(v.trim());
  }

  /**
   * The server address from {@code BATON_SERVER}, or the default.
   *
   * @param env the environment
   * @return the address, as given ({@code host:port}, {@code http://...} or {@code https://...})
   */
  public static String targetFromEnv(Map<String, String> env) {
    String t = env.get(SERVER_ENV);
    return t == null || t.isBlank() ? DEFAULT_TARGET : t.trim();
  }

  /**
   * Opens a channel without TLS files: {@code https://host:port} is TLS trusting the system's
   * roots, anything else plain text. Accepts {@code host:port}, {@code http://host:port}, {@code
   * https://host:port} or any gRPC target string.
   *
   * @param target the address
   * @return the channel
   */
  public static ManagedChannel open(String target) {
    return open(target, TlsFiles.NONE);
  }

  /**
   * Opens a channel by the rules of the class description. The files are read now, so a file
   * that cannot be read fails here rather than on the first call.
   *
   * @param target the address: {@code host:port}, {@code http://host:port}, {@code
   *     https://host:port} or any gRPC target string
   * @param tls the TLS files (see {@link TlsFiles#resolve})
   * @return the channel
   * @throws IllegalArgumentException when the address is {@code http://} but TLS files are
   *     configured, when a file cannot be read or holds no PEM data of its kind, or when TLS
   *     cannot be set up with the files
   */
  public static ManagedChannel open(String target, TlsFiles tls) {
    String t = target.trim();
    String lower = t.toLowerCase(Locale.ROOT);
    boolean https = lower.startsWith("https://");
    boolean http = lower.startsWith("http://");
    if (https) {
      t = t.substring("https://".length());
    } else if (http) {
      t = t.substring("http://".length());
    }
    while (t.endsWith("/")) {
      t = t.substring(0, t.length() - 1);
    }
    if (t.isEmpty()) {
      throw new IllegalArgumentException("no host in the server address " + target);
    }
    if (http && tls.any()) {
      throw new IllegalArgumentException(
          "the server address "
              + target.trim()
              + " asks for plain text (http://), but TLS is configured with "
              + tls.described()
              + ": use https://"
              + t
              + " or "
              + t);
    }
    ManagedChannelBuilder<?> b;
    if (https || tls.any()) {
      b = tlsChannelBuilder(t, tls);
    } else {
      b = ManagedChannelBuilder.forTarget(t).usePlaintext();
    }
    return b.keepAliveTime(30, TimeUnit.SECONDS)
        .keepAliveTimeout(10, TimeUnit.SECONDS)
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .build();
  }

  private static ManagedChannelBuilder<?> tlsChannelBuilder(String target, TlsFiles tls) {
    TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
    try {
      if (tls.caFile() != null) {
        byte[] ca = read(tls.caFile(), "CA file");
        requireCertificates(ca, tls.caFile(), "CA file");
        b.trustManager(new ByteArrayInputStream(ca));
      }
      if (tls.certificateChain() != null) {
        byte[] chain = read(tls.certificateChain(), "client certificate");
        requireCertificates(chain, tls.certificateChain(), "client certificate");
        byte[] key = read(tls.privateKey(), "client key");
        if (!new String(key, StandardCharsets.US_ASCII).contains("PRIVATE KEY-----")) {
          throw new IllegalArgumentException(
              "client key " + tls.privateKey() + " holds no PEM private key");
        }
        b.keyManager(new ByteArrayInputStream(chain), new ByteArrayInputStream(key));
      }
    } catch (IOException e) {
      // The streams are in memory: reading them does not fail.
      throw new java.io.UncheckedIOException(e);
    }
    ChannelCredentials creds = b.build();
    try {
      // The transport parses the files here: a key it cannot use fails now, naming the files.
      return Grpc.newChannelBuilder(target, creds);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "cannot set up TLS for " + target + " with " + describeFiles(tls) + ": " + e.getMessage(),
          e);
    }
  }

  private static String describeFiles(TlsFiles tls) {
    List<String> parts = new ArrayList<>();
    parts.add(tls.caFile() == null ? "the system's roots" : "CA file " + tls.caFile());
    if (tls.certificateChain() != null) {
      parts.add("client certificate " + tls.certificateChain());
      parts.add("client key " + tls.privateKey());
    }
    return String.join(", ", parts);
  }

  private static byte[] read(Path file, String what) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("cannot read " + what + " " + file + ": no such file", e);
    } catch (AccessDeniedException e) {
      throw new IllegalArgumentException(
          "cannot read " + what + " " + file + ": permission denied", e);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "cannot read " + what + " " + file + ": " + e.getMessage(), e);
    }
  }

  private static void requireCertificates(byte[] pem, Path file, String what) {
    try {
      if (CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(pem))
          .isEmpty()) {
        throw new IllegalArgumentException(what + " " + file + " holds no certificate");
      }
    } catch (CertificateException e) {
      throw new IllegalArgumentException(
          what + " " + file + " holds no PEM certificate: " + e.getMessage(), e);
    }
  }

  /**
   * The reason a TLS handshake failed, when {@code failure} (the cause of a call's or stream's
   * {@code UNAVAILABLE} status) is such a failure: the message of the innermost cause that has
   * one, since the transport's own message is generic ("General OpenSslEngine problem").
   *
   * @param failure the failure, or null
   * @return the reason, for example "unable to find valid certification path to requested
   *     target"; null when the failure is not a TLS one
   */
  public static String handshakeFailure(Throwable failure) {
    boolean tls = false;
    String reason = null;
    for (Throwable c = failure; c != null; c = c.getCause() == c ? null : c.getCause()) {
      tls |= c instanceof SSLException;
      if (c.getMessage() != null && !c.getMessage().isBlank()) {
        reason = c.getMessage();
      }
    }
    return tls ? reason : null;
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
