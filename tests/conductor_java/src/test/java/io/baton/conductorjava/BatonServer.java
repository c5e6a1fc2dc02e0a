package io.baton.conductorjava;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import com.netflix.conductor.client.http.ConductorClient;

/**
 * One `baton server` for the whole test run, on a free port with its own data directory.
 * It is started on first use and stopped when the test JVM exits. Its stderr goes to
 * target/baton-server.log.
 */
final class BatonServer {
    private static final String READY_LINE = "baton server listening on ";
    private static BatonServer instance;

    final String addr;
    final String apiUrl;
    private final Process process;
    private final Path dataDir;

    static synchronized BatonServer get() {
        if (instance == null) {
            instance = start();
        }
        return instance;
    }

    /** A client of Conductor's own HTTP layer pointed at the server's /api. */
    ConductorClient client() {
        return ConductorClient.builder().basePath(apiUrl).build();
    }

    private BatonServer(Process process, Path dataDir, String addr) {
        this.process = process;
        this.dataDir = dataDir;
        this.addr = addr;
        this.apiUrl = "http://" + addr + "/api";
    }

    private static BatonServer start() {
        String binary = System.getenv("BATON_BIN");
        if (binary == null || binary.isBlank() || binary.startsWith("${")) {
            // Not given: the release build of the repository this project sits in.
            binary = Paths.get("..", "..", "target", "release", "baton").toAbsolutePath().normalize().toString();
        }
        if (!new File(binary).canExecute()) {
            throw new IllegalStateException("BATON_BIN is not an executable file: " + binary);
        }
        try {
            Path dataDir = Files.createTempDirectory("baton-conductor-java-");
            Path log = Paths.get("target", "baton-server.log").toAbsolutePath();
            Files.createDirectories(log.getParent());
            Process p = new ProcessBuilder(List.of(binary, "server",
                    "--data-dir", dataDir.resolve("data").toString(),
                    "--listen", "127.0.0.1:0"))
                    .redirectError(log.toFile())
                    .start();
            BufferedReader out = new BufferedReader(
                    new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            try {
                line = CompletableFuture.supplyAsync(() -> {
                    try {
                        return out.readLine();
                    } catch (IOException e) {
                        return null;
                    }
                }).get(30, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                p.destroyForcibly();
                throw new IllegalStateException("baton server printed nothing within 30 s; see " + log);
            }
            if (line == null || !line.startsWith(READY_LINE)) {
                p.destroyForcibly();
                throw new IllegalStateException("unexpected first line from baton server: " + line
                        + "; see " + log);
            }
            // Keep draining stdout so the server never blocks on a full pipe.
            Thread drain = new Thread(() -> {
                try {
                    while (out.readLine() != null) {
                        // discard
                    }
                } catch (IOException ignored) {
                    // the server has gone
                }
            }, "baton-stdout");
            drain.setDaemon(true);
            drain.start();

            BatonServer server = new BatonServer(p, dataDir, line.substring(READY_LINE.length()).trim());
            Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "baton-stop"));
            return server;
        } catch (IOException | InterruptedException | java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("could not start baton server", e);
        }
    }

    private void stop() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
        }
        try (Stream<Path> paths = Files.walk(dataDir)) {
            paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException ignored) {
            // a temporary directory left behind is harmless
        }
    }
}
