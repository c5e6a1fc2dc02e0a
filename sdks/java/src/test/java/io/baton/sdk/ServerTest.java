package io.baton.sdk;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/** Tests against one real {@code baton server} per test class, with a client connected to it. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ServerTest {
  /** The server of this test class. */
  protected TestServer server;
  /** A client connected to {@link #server}. */
  protected BatonClient client;

  @BeforeAll
  void startServer() throws Exception {
    server = TestServer.start();
    client = BatonClient.connect(server.target());
  }

  @AfterAll
  void stopServer() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }
}
