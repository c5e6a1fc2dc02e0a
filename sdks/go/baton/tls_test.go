package baton

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/baton-run/baton/sdks/go/internal/batontest"
)

// clearTLSEnv empties the environment variables Dial reads, for the length of the test.
func clearTLSEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{envServer, envCAFile, envClientCert, envClientKey, envAPIKey} {
		t.Setenv(k, "")
	}
}

// testCerts writes a certificate authority with server and client certificates into a
// temporary directory with `baton tls init`.
func testCerts(t *testing.T) *batontest.Certs {
	t.Helper()
	certs, err := batontest.InitTLS(serverBinary(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

// localhostURL turns the address the server listens on (127.0.0.1:PORT) into
// scheme://localhost:PORT, the name the test certificates are valid for.
func localhostURL(t *testing.T, scheme, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return scheme + "://localhost:" + port
}

// newTLSEnv starts a server that serves TLS (and requires client certificates when mutual
// is true); the test's connection goes to https://localhost:PORT with config.
func newTLSEnv(t *testing.T, certs *batontest.Certs, mutual bool, config TLSConfig) *testEnv {
	t.Helper()
	dial := func(addr string) (*grpc.ClientConn, error) {
		return DialTLS(localhostURL(t, "https", addr), config)
	}
	return newEnvDial(t, dial, certs.ServerArgs(mutual)...)
}

// runShout registers a one-task workflow, runs a worker on conn (a TLS connection) and
// checks that the worker completes the workflow the client started.
func runShout(e *testEnv, conn grpc.ClientConnInterface, name string) {
	e.t.Helper()
	e.registerTaskDef(map[string]any{"name": "shout", "retryCount": 0})
	e.registerWorkflow(name, map[string]any{"loud": "${s.output.text}"},
		simpleTask("shout", "s", map[string]any{"text": "${workflow.input.text}"}))
	base := []WorkerOption{
		WithLogger(e.logger), WithEnv(nil), WithWorkerID("tls-worker"),
		WithReconnectBackoff(50*time.Millisecond, 500*time.Millisecond), WithGracePeriod(10 * time.Second),
	}
	w := NewWorker(conn, base...)
	w.Handle("shout", Typed(shout))
	e.run(w)

	id := e.start(name, map[string]any{"text": "secret"})
	wf := e.wait(id, 20*time.Second)
	e.expectStatus(wf, wfCompleted)
	if got := wf.Output["loud"]; got != "SECRET" {
		e.t.Fatalf("workflow output %v", wf.Output)
	}
	if len(wf.Tasks) != 1 || wf.Tasks[0].WorkerID != "tls-worker" {
		e.t.Fatalf("tasks: %v", taskSummary(wf))
	}
}

// expectCallFails checks that a call over conn fails, with UNAVAILABLE and before its
// deadline, and returns the error.
func expectCallFails(t *testing.T, conn *grpc.ClientConn, what string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := NewClient(conn).ListWorkflowDefs(ctx, false)
	if err == nil {
		t.Fatalf("%s: the call succeeded", what)
	}
	if ctx.Err() != nil || Code(err) != codes.Unavailable {
		t.Fatalf("%s: %v (code %v), want UNAVAILABLE before the deadline", what, err, Code(err))
	}
	return err
}

// A client on https://localhost:PORT trusting the test authority registers definitions and
// starts a workflow; a worker on its own TLS connection completes it.
func TestTLSClientAndWorker(t *testing.T) {
	clearTLSEnv(t)
	certs := testCerts(t)
	e := newTLSEnv(t, certs, false, TLSConfig{CAFile: certs.CA})

	workerConn, err := DialTLS(localhostURL(t, "https", e.srv.Addr), TLSConfig{CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = workerConn.Close() })
	runShout(e, workerConn, "tls_shout")
}

// Dial("") takes the address and the CA file from the environment, and a bare host:port
// with a CA file in the environment uses TLS. An explicit setting wins over the
// environment.
func TestTLSFromEnvironment(t *testing.T) {
	clearTLSEnv(t)
	certs := testCerts(t)
	e := newTLSEnv(t, certs, false, TLSConfig{CAFile: certs.CA})
	url := localhostURL(t, "https", e.srv.Addr)
	_, port, _ := net.SplitHostPort(e.srv.Addr)

	call := func(conn *grpc.ClientConn, what string) {
		t.Helper()
		if _, err := NewClient(conn).ListWorkflowDefs(e.ctx(10*time.Second), false); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	dial := func(target string, config TLSConfig) *grpc.ClientConn {
		t.Helper()
		conn, err := DialTLS(target, config)
		if err != nil {
			t.Fatalf("dial %q: %v", target, err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}

	t.Setenv(envServer, url)
	t.Setenv(envCAFile, certs.CA)
	conn, err := Dial("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	call(conn, "BATON_SERVER="+url+" BATON_CA_FILE")
	// The worker completes a workflow over that connection.
	runShout(e, conn, "env_shout")

	t.Setenv(envServer, "localhost:"+port)
	call(dial("", TLSConfig{}), "bare BATON_SERVER with BATON_CA_FILE")

	// The CA file given in code wins over a broken one in the environment.
	t.Setenv(envCAFile, filepath.Join(t.TempDir(), "missing.pem"))
	call(dial(url, TLSConfig{CAFile: certs.CA}), "explicit CA file over BATON_CA_FILE")
	if _, err := Dial(url); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("dial with a missing BATON_CA_FILE: %v, want an error naming it", err)
	}
}

// Without the test authority, the system's roots do not trust the server: calls fail with
// UNAVAILABLE, naming the certificate problem. Plain text to the TLS port fails too.
func TestTLSWithoutCAIsUnavailable(t *testing.T) {
	clearTLSEnv(t)
	certs := testCerts(t)
	e := newTLSEnv(t, certs, false, TLSConfig{CAFile: certs.CA})

	conn, err := Dial(localhostURL(t, "https", e.srv.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = expectCallFails(t, conn, "https without the CA")
	if !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("the error does not name the certificate problem: %v", err)
	}

	plain, err := Dial(e.srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	expectCallFails(t, plain, "plain text to the TLS port")

	// The server still works for a client that trusts the authority.
	if _, err := e.client.ListWorkflowDefs(e.ctx(10*time.Second), false); err != nil {
		t.Fatal(err)
	}
}

// Settings that conflict or files that cannot be used fail Dial at once, naming the problem.
func TestTLSSettingErrors(t *testing.T) {
	clearTLSEnv(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	notPEM := filepath.Join(dir, "not.pem")
	missing := filepath.Join(dir, "missing.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Only the file's presence matters for the cases that check pairs and schemes.
	if err := os.WriteFile(ca, []byte("placeholder\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		target   string
		config   TLSConfig
		env      map[string]string
		want     []string // substrings of the error
		notExist bool     // errors.Is(err, fs.ErrNotExist)
	}{
		{name: "http with CA file", target: "http://localhost:7070", config: TLSConfig{CAFile: ca},
			want: []string{"https://", "http://localhost:7070", ca}},
		{name: "http with client cert", target: "http://localhost:7070",
			config: TLSConfig{CertFile: ca, KeyFile: ca}, want: []string{"https://", "http://localhost:7070", "client certificate"}},
		{name: "http with CA file from env", target: "http://127.0.0.1:7070", env: map[string]string{envCAFile: ca},
			want: []string{"https://", "http://127.0.0.1:7070", ca}},
		{name: "cert without key", target: "https://localhost:7070", config: TLSConfig{CAFile: ca, CertFile: ca},
			want: []string{"client certificate " + ca, "no key", envClientKey}},
		{name: "key without cert", target: "localhost:7070", config: TLSConfig{KeyFile: ca},
			want: []string{"client key " + ca, "no certificate", envClientCert}},
		{name: "cert from env without key", target: "localhost:7070", env: map[string]string{envClientCert: ca},
			want: []string{"client certificate " + ca, "no key"}},
		{name: "missing CA file", target: "https://localhost:7070", config: TLSConfig{CAFile: missing},
			want: []string{"cannot read CA file " + missing}, notExist: true},
		{name: "missing CA file from env, bare address", target: "localhost:7070", env: map[string]string{envCAFile: missing},
			want: []string{"cannot read CA file " + missing}, notExist: true},
		{name: "CA file without PEM", target: "https://localhost:7070", config: TLSConfig{CAFile: notPEM},
			want: []string{"CA file " + notPEM + " holds no PEM certificate"}},
		{name: "missing client key", target: "https://localhost:7070", config: TLSConfig{CertFile: notPEM, KeyFile: missing},
			want: []string{"cannot read client key " + missing}, notExist: true},
		{name: "unusable key pair", target: "https://localhost:7070", config: TLSConfig{CertFile: notPEM, KeyFile: notPEM},
			want: []string{"client certificate " + notPEM + " and key " + notPEM + " cannot be used"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearTLSEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			conn, err := DialTLS(c.target, c.config)
			if err == nil {
				_ = conn.Close()
				t.Fatal("DialTLS succeeded")
			}
			var te *TLSConfigError
			if !errors.As(err, &te) {
				t.Fatalf("%v (%T) is not a *TLSConfigError", err, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if got := errors.Is(err, fs.ErrNotExist); got != c.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v for %v", got, err)
			}
		})
	}

	// Credentials checks the same way, without the environment.
	if _, err := (TLSConfig{CAFile: missing}).Credentials("localhost"); !errors.Is(err, fs.ErrNotExist) ||
		!strings.Contains(err.Error(), missing) {
		t.Fatalf("Credentials with a missing CA file: %v", err)
	}
	t.Setenv(envClientKey, ca)
	if _, err := (TLSConfig{CertFile: ca}).Credentials(""); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("Credentials with a certificate and no key: %v", err)
	}
	if creds, err := (TLSConfig{}).Credentials("example.com"); err != nil || creds.Info().ServerName != "example.com" {
		t.Fatalf("Credentials with the system roots: %v, %v", creds, err)
	}
}

// Addresses: the scheme is taken off for gRPC; other targets pass through unchanged.
func TestSplitTarget(t *testing.T) {
	cases := []struct{ in, target, scheme string }{
		{"https://localhost:7070", "localhost:7070", "https"},
		{"HTTPS://localhost:7070/", "localhost:7070", "https"},
		{"https://[::1]:7070", "[::1]:7070", "https"},
		{"https://baton.example.com", "baton.example.com:443", "https"},
		{"http://127.0.0.1:7070", "127.0.0.1:7070", "http"},
		{"http://baton", "baton:80", "http"},
		{"127.0.0.1:7070", "127.0.0.1:7070", ""},
		{"dns:///baton:7070", "dns:///baton:7070", ""},
	}
	for _, c := range cases {
		target, scheme, err := splitTarget(c.in)
		if err != nil || target != c.target || scheme != c.scheme {
			t.Errorf("splitTarget(%q) = %q, %q, %v; want %q, %q", c.in, target, scheme, err, c.target, c.scheme)
		}
	}
	for _, bad := range []string{"https://", "https://host:7070/path", "https://user@host:7070", "http://host:7070?x=1"} {
		if _, _, err := splitTarget(bad); err == nil {
			t.Errorf("splitTarget(%q) accepted it", bad)
		}
	}
	// Plain text needs no files: a bare address and http:// dial without error.
	clearTLSEnv(t)
	for _, target := range []string{"127.0.0.1:7070", "http://127.0.0.1:7070"} {
		conn, err := Dial(target)
		if err != nil {
			t.Fatalf("Dial(%q): %v", target, err)
		}
		_ = conn.Close()
	}
}

// A server requiring client certificates refuses a client without one; with the client
// certificate from `baton tls init`, calls work and a worker completes a task.
func TestMutualTLS(t *testing.T) {
	clearTLSEnv(t)
	certs := testCerts(t)
	withCert := TLSConfig{CAFile: certs.CA, CertFile: certs.Client, KeyFile: certs.ClientKey}
	e := newTLSEnv(t, certs, true, withCert)
	url := localhostURL(t, "https", e.srv.Addr)

	noCert, err := DialTLS(url, TLSConfig{CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	defer noCert.Close()
	// The server's refusal may reach the client as an alert or as a closed connection,
	// depending on timing, so only the status is checked.
	expectCallFails(t, noCert, "mutual TLS without a client certificate")

	// The client certificate from the environment, the CA file from code.
	t.Setenv(envClientCert, certs.Client)
	t.Setenv(envClientKey, certs.ClientKey)
	workerConn, err := DialTLS(url, TLSConfig{CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = workerConn.Close() })
	runShout(e, workerConn, "mtls_shout")
}
