package io.baton.sdk;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs the real {@code baton server} binary for a test: on a temporary data directory and a free
 * port, read from the line it prints once it accepts connections.
 *
 * <p>The binary is {@code -Dbaton.bin}, else {@code BATON_BIN}, else {@code
 * ../../target/release/baton} relative to this SDK's directory.
 */
public final class TestServer implements AutoCloseable {
  private static final Pattern LISTENING =
      Pattern.compile("baton server listening on (\\S+):(\\d+)");

  private final Path dataDir;
  private final boolean ownsDataDir;
  private final List<String> extraArgs;
  private String adminKey;
  private Process process;
  private int port;

  private TestServer(Path dataDir, boolean ownsDataDir, List<String> extraArgs) {
    this.dataDir = dataDir;
    this.ownsDataDir = ownsDataDir;
    this.extraArgs = extraArgs;
  }

  /**
   * Starts a server on a fresh temporary directory and a free port.
   *
   * @param extraArgs further arguments of {@code baton server}, e.g. {@code --max-payload-bytes N}
   */
  public static TestServer start(String... extraArgs) throws IOException {
    TestServer s =
        new TestServer(Files.createTempDirectory("baton-java-test-"), true, List.of(extraArgs));
    s.launch(0);
    return s;
  }

  /**
   * Starts a server with authentication on ({@code --auth}), on a fresh temporary directory
   * bootstrapped first with {@code baton auth bootstrap}, whose admin key {@link #adminKey()}
   * returns.
   *
   * @param extraArgs further arguments of {@code baton server}
   */
  public static TestServer startWithAuth(String... extraArgs)
      throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("baton-java-test-");
    List<String> args = new ArrayList<>(List.of(extraArgs));
    args.add("--auth");
    TestServer s = new TestServer(dir, true, List.copyOf(args));
    s.adminKey = bootstrap(dir);
    s.launch(0);
    return s;
  }

  /**
   * Makes the first admin key of a data directory with {@code baton auth bootstrap} (the server
   * must not run on it).
   *
   * @param dataDir the data directory
   * @return the key's text: the last line the command prints
   */
  public static String bootstrap(Path dataDir) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(
                binary().toString(), "auth", "bootstrap", "--data-dir", dataDir.toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("baton auth bootstrap did not finish in 30 s");
    }
    List<String> lines = out.strip().lines().toList();
    if (p.exitValue() != 0 || lines.isEmpty()) {
      throw new IllegalStateException(
          "baton auth bootstrap exited with " + p.exitValue() + " and printed no key");
    }
    return lines.get(lines.size() - 1).strip();
  }

  /** @return the admin key made by {@link #startWithAuth}; null for a server without auth */
  public String adminKey() {
    return adminKey;
  }

  /**
   * Starts a server serving TLS with the certificates of {@link #initCertificates}.
   *
   * @param certs the directory holding {@code server.pem} and {@code server-key.pem}
   * @param mutual whether every client must present a certificate signed by {@code ca.pem}
   */
  public static TestServer startTls(Path certs, boolean mutual) throws IOException {
    List<String> args = new ArrayList<>();
    args.addAll(
        List.of(
            "--tls-cert",
            certs.resolve("server.pem").toString(),
            "--tls-key",
            certs.resolve("server-key.pem").toString()));
    if (mutual) {
      args.addAll(List.of("--tls-client-ca", certs.resolve("ca.pem").toString()));
    }
    return start(args.toArray(String[]::new));
  }

  /**
   * Writes a certificate authority and a server and a client certificate signed by it with
   * {@code baton tls init}: {@code ca.pem}, {@code server.pem} (valid for localhost, 127.0.0.1
   * and ::1), {@code server-key.pem}, {@code client.pem} and {@code client-key.pem}.
   *
   * @param dir the directory to write them to (created when missing)
   * @return {@code dir}
   */
  public static Path initCertificates(Path dir) throws IOException, InterruptedException {
    Path log = Path.of("target", "baton-tls-init-" + ProcessHandle.current().pid() + ".log");
    Files.createDirectories(log.getParent());
    Process p =
        new ProcessBuilder(binary().toString(), "tls", "init", "--dir", dir.toString())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("baton tls init did not finish in 30 s; see " + log);
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(
          "baton tls init exited with " + p.exitValue() + "; see " + log);
    }
    return dir;
  }

  /** @return the path of the server binary */
  public static Path binary() {
    String p = System.getProperty("baton.bin");
    if (p == null || p.isBlank()) {
      p = System.getenv("BATON_BIN");
    }
    if (p == null || p.isBlank()) {
      p = "../../target/release/baton";
    }
    Path path = Path.of(p).toAbsolutePath().normalize();
    if (!Files.isExecutable(path)) {
      throw new IllegalStateException(
          "baton binary not found at "
              + path
              + " (build it with `cargo build --release -p baton` or set BATON_BIN)");
    }
    return path;
  }

  private void launch(int listenPort) throws IOException {
    Path log = Path.of("target", "baton-server-" + ProcessHandle.current().pid() + ".log");
    Files.createDirectories(log.getParent());
    List<String> command = new ArrayList<>();
    command.addAll(
        List.of(
            binary().toString(),
            "server",
            "--data-dir",
            dataDir.toString(),
            "--listen",
            "127.0.0.1:" + listenPort));
    command.addAll(extraArgs);
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().putIfAbsent("RUST_LOG", "warn");
    process = pb.start();
    CompletableFuture<Integer> found = new CompletableFuture<>();
    Process p = process;
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  Matcher m = LISTENING.matcher(line);
                  if (m.find()) {
                    found.complete(Integer.parseInt(m.group(2)));
                  }
                }
              } catch (IOException e) {
                // process ended
              }
              found.completeExceptionally(
                  new IllegalStateException("baton server exited before listening; see " + log));
            },
            "baton-server-stdout");
    reader.setDaemon(true);
    reader.start();
    try {
      port = found.get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      process.destroyForcibly();
      throw new IllegalStateException("baton server did not start: " + e.getMessage(), e);
    }
  }

  /** @return host:port of the server */
  public String target() {
    return "127.0.0.1:" + port;
  }

  /** @return {@code https://localhost:PORT}, an address the TLS certificates cover */
  public String httpsTarget() {
    return "https://localhost:" + port;
  }

  /** @return the server's process id */
  public long pid() {
    return process.pid();
  }

  /** @return the port */
  public int port() {
    return port;
  }

  /** Kills the server at once (SIGKILL), as a crash would. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  /** Starts the server again on the same data directory and port. */
  public void restart() throws IOException {
    if (process.isAlive()) {
      throw new IllegalStateException("server still running");
    }
    IOException last = null;
    for (int i = 0; i < 20; i++) {
      try {
        launch(port);
        return;
      } catch (IllegalStateException e) {
        // The port may not be free again yet.
        last = new IOException(e.getMessage(), e);
        try {
          Thread.sleep(250);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new IOException(ie);
        }
      }
    }
    throw last;
  }

  @Override
  public void close() throws Exception {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    }
    if (ownsDataDir) {
      try (Stream<Path> files = Files.walk(dataDir)) {
        files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
      }
    }
  }
}
