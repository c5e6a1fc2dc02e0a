package io.baton.sdk;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay between a worker and the server, so a test can break the worker's connection (as
 * a network failure would) while the server keeps running.
 */
public final class TcpProxy implements AutoCloseable {
  private final ServerSocket listener;
  private final int upstreamPort;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private volatile boolean refusing;
  private volatile boolean closed;

  /** Starts relaying from a free local port to 127.0.0.1:upstreamPort. */
  public TcpProxy(int upstreamPort) throws IOException {
    this.upstreamPort = upstreamPort;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::acceptLoop, "tcp-proxy-accept");
    t.setDaemon(true);
    t.start();
  }

  /** @return host:port to connect to */
  public String target() {
    return "127.0.0.1:" + listener.getLocalPort();
  }

  /** Closes every relayed connection at once. */
  public void cut() {
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException e) {
        // already closed
      }
    }
    sockets.clear();
  }

  /** While refusing, new connections are closed as soon as they are accepted. */
  public void refuse(boolean refuse) {
    this.refusing = refuse;
  }

  private void acceptLoop() {
    while (!closed) {
      Socket down;
      try {
        down = listener.accept();
      } catch (IOException e) {
        return;
      }
      if (refusing) {
        closeQuietly(down);
        continue;
      }
      try {
        Socket up = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
        up.setTcpNoDelay(true);
        down.setTcpNoDelay(true);
        sockets.add(down);
        sockets.add(up);
        pump(down, up);
        pump(up, down);
      } catch (IOException e) {
        closeQuietly(down);
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[16384];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                  out.write(buf, 0, n);
                  out.flush();
                }
              } catch (IOException e) {
                // connection closed
              } finally {
                closeQuietly(from);
                closeQuietly(to);
                sockets.remove(from);
                sockets.remove(to);
              }
            },
            "tcp-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // ignore
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    listener.close();
    cut();
  }
}
