package baton

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/baton-run/baton/sdks/go/internal/batontest"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.b.Bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// testEnv is a real server started for one test, with a connection and a client.
type testEnv struct {
	t      *testing.T
	srv    *batontest.Server
	conn   *grpc.ClientConn
	client *Client
	logs   *syncBuffer // server and worker logs, shown when the test fails
	logger *slog.Logger
}

// newEnv starts `baton server` on a temporary data directory and a free port. The test is
// skipped only when BATON_BIN is unset and the default binary is missing.
func newEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnvArgs(t)
}

// newEnvArgs is newEnv with extra arguments for `baton server` (such as
// "--max-payload-bytes", "1048576").
func newEnvArgs(t *testing.T, serverArgs ...string) *testEnv {
	t.Helper()
	return newEnvDial(t, func(addr string) (*grpc.ClientConn, error) { return Dial(addr) }, serverArgs...)
}

// serverBinary returns the server binary, skipping the test only when BATON_BIN is unset
// and the default binary is missing.
func serverBinary(t *testing.T) string {
	t.Helper()
	bin, err := batontest.FindBinary()
	if err != nil {
		if os.Getenv("BATON_BIN") == "" {
			t.Skipf("no server binary: %v", err)
		}
		t.Fatal(err)
	}
	return bin
}

// newEnvDial is newEnvArgs with the test's connection opened by dial, given the address
// the server listens on (host:port).
func newEnvDial(t *testing.T, dial func(addr string) (*grpc.ClientConn, error), serverArgs ...string) *testEnv {
	t.Helper()
	return newEnvDir(t, t.TempDir(), dial, serverArgs...)
}

// newEnvDir is newEnvDial with the server's data directory given (one prepared beforehand,
// such as by `baton auth bootstrap`).
func newEnvDir(t *testing.T, dataDir string, dial func(addr string) (*grpc.ClientConn, error), serverArgs ...string) *testEnv {
	t.Helper()
	bin := serverBinary(t)
	logs := &syncBuffer{}
	srv, err := batontest.Start(bin, dataDir, "127.0.0.1:0", logs, serverArgs...)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dial(srv.Addr)
	if err != nil {
		srv.Kill()
		t.Fatal(err)
	}
	e := &testEnv{
		t: t, srv: srv, conn: conn, client: NewClient(conn), logs: logs,
		logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		if t.Failed() {
			t.Logf("last server and worker log lines:\n%s", logs.tail(8000))
		}
	})
	return e
}

func (e *testEnv) ctx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	e.t.Cleanup(cancel)
	return ctx
}

// newWorker makes a worker that logs into the test's log buffer and ignores the process
// environment.
func (e *testEnv) newWorker(opts ...WorkerOption) *Worker {
	base := []WorkerOption{
		WithLogger(e.logger), WithEnv(nil), WithWorkerID("test-worker"),
		WithReconnectBackoff(50*time.Millisecond, 500*time.Millisecond), WithGracePeriod(10 * time.Second),
	}
	return NewWorker(e.conn, append(base, opts...)...)
}

// run runs the worker in the background; the returned function stops it and returns Run's
// error. The worker is stopped at the end of the test in any case.
func (e *testEnv) run(w *Worker) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("worker did not stop within 30 s")
			}
		})
		return err
	}
	e.t.Cleanup(func() { _ = stop() })
	return stop
}

func (e *testEnv) registerTaskDef(def map[string]any) {
	e.t.Helper()
	if _, err := e.client.RegisterTaskDefs(e.ctx(10*time.Second), def); err != nil {
		e.t.Fatalf("register task def %v: %v", def["name"], err)
	}
}

// simpleTask is a SIMPLE workflow task whose input is built from inputParameters.
func simpleTask(name, ref string, inputParameters map[string]any) map[string]any {
	return map[string]any{
		"name": name, "taskReferenceName": ref, "type": "SIMPLE", "inputParameters": inputParameters,
	}
}

func (e *testEnv) registerWorkflow(name string, output map[string]any, tasks ...map[string]any) {
	e.t.Helper()
	list := make([]any, len(tasks))
	for i, t := range tasks {
		list[i] = t
	}
	def := map[string]any{
		"name": name, "version": 1, "schemaVersion": 2, "ownerEmail": "tests@example.com",
		"tasks": list, "outputParameters": output,
	}
	if _, err := e.client.RegisterWorkflowDef(e.ctx(10*time.Second), def); err != nil {
		e.t.Fatalf("register workflow %s: %v", name, err)
	}
}

func (e *testEnv) start(name string, input any, opts ...StartOption) string {
	e.t.Helper()
	id, err := e.client.StartWorkflow(e.ctx(10*time.Second), name, input, opts...)
	if err != nil {
		e.t.Fatalf("start %s: %v", name, err)
	}
	return id
}

// wait waits for a workflow to reach a terminal status and returns it with its tasks.
func (e *testEnv) wait(id string, d time.Duration) *Workflow {
	e.t.Helper()
	wf, err := e.client.WaitForWorkflow(e.ctx(d), id, 50*time.Millisecond)
	if err != nil {
		e.t.Fatalf("workflow %s did not finish (last status %v): %v", id, wf.Status, err)
	}
	return wf
}

func (e *testEnv) expectStatus(wf *Workflow, want WorkflowStatus) {
	e.t.Helper()
	if wf.Status != want {
		e.t.Fatalf("workflow %s: status %v (reason %q), want %v; tasks: %v",
			wf.ID, wf.Status, wf.ReasonForIncompletion, want, taskSummary(wf))
	}
}

func taskSummary(wf *Workflow) []string {
	var out []string
	for _, t := range wf.Tasks {
		out = append(out, t.ReferenceName+":"+string(t.Status)+":"+t.ReasonForIncompletion)
	}
	return out
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
