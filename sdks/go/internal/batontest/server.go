// Package batontest starts and stops a real `baton server` process for the SDK's tests and
// benchmark.
package batontest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// listenPrefix starts the line the server prints on stdout once it accepts connections.
const listenPrefix = "baton server listening on "

// FindBinary returns the server binary to run: $BATON_BIN, or target/release/baton under the
// repository root (found by walking up from the working directory to the directory that
// holds proto/baton/v1). It returns an error when neither exists.
func FindBinary() (string, error) {
	if p := os.Getenv("BATON_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("BATON_BIN=%s: %w", p, err)
		}
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "target", "release", "baton")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no server binary (set BATON_BIN or build %s): %w", p, err)
	}
	return p, nil
}

// RepoRoot walks up from the working directory to the repository root.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "proto", "baton", "v1")); err == nil && st.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (with proto/baton/v1) not found above the working directory")
		}
		dir = parent
	}
}

// Server is a running `baton server` process.
type Server struct {
	// Addr is host:port the server listens on.
	Addr string
	// DataDir is the server's data directory.
	DataDir string

	bin    string
	args   []string
	logOut io.Writer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs `bin server --data-dir dataDir --listen listen` followed by any extra arguments
// (for instance "--max-payload-bytes", "1048576"), and waits (up to 30 s) for its listening
// line. listen may end in ":0" for a free port. The server's stderr (its log) and any
// further stdout go to logOut (io.Discard when nil). A restart uses the same arguments.
func Start(bin, dataDir, listen string, logOut io.Writer, extra ...string) (*Server, error) {
	if logOut == nil {
		logOut = io.Discard
	}
	s := &Server{DataDir: dataDir, bin: bin, args: extra, logOut: logOut}
	if err := s.start(listen); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) start(listen string) error {
	args := append([]string{"server", "--data-dir", s.DataDir, "--listen", listen}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Stderr = s.logOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			line := sc.Text()
			if !found && strings.HasPrefix(line, listenPrefix) {
				found = true
				addrCh <- strings.TrimSpace(strings.TrimPrefix(line, listenPrefix))
				continue
			}
			fmt.Fprintln(s.logOut, line)
		}
		_, _ = io.Copy(s.logOut, stdout)
		close(addrCh)
	}()
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case addr, ok := <-addrCh:
		if !ok {
			<-done
			return fmt.Errorf("%s exited before listening: %v", s.bin, cmd.ProcessState)
		}
		s.mu.Lock()
		s.Addr, s.cmd, s.done = addr, cmd, done
		s.mu.Unlock()
		return nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not print its listening line within 30 s", s.bin)
	}
}

// Kill stops the server with SIGKILL (no graceful shutdown) and waits for it to exit.
func (s *Server) Kill() { s.signal(syscall.SIGKILL, 0) }

// Stop stops the server with SIGTERM and waits (up to 10 s, then SIGKILL) for it to exit.
func (s *Server) Stop() { s.signal(syscall.SIGTERM, 10*time.Second) }

func (s *Server) signal(sig syscall.Signal, wait time.Duration) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if wait > 0 {
		select {
		case <-done:
			return
		case <-time.After(wait):
			_ = cmd.Process.Kill()
		}
	}
	<-done
}

// Restart starts the server again on the same data directory and address, retrying for a
// while if the port is not free yet. The server must have been stopped or killed.
func (s *Server) Restart(ctx context.Context) error {
	var last error
	for {
		if last = s.start(s.Addr); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("restart: %w (last error: %v)", ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
