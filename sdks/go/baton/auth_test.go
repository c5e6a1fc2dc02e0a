package baton

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
	"github.com/baton-run/baton/sdks/go/internal/batontest"
)

// authEnv is a server started with --auth on a data directory bootstrapped with an admin
// key. The test env's connection and client carry that key, so definitions are registered
// as the admin.
type authEnv struct {
	*testEnv
	adminKey string
	adminID  string
}

// newAuthEnv bootstraps an admin key on a fresh data directory and starts `baton server
// --auth` on it, with any extra arguments. BATON_API_KEY is emptied for the test, so that
// only keys the test gives are sent.
func newAuthEnv(t *testing.T, serverArgs ...string) *authEnv {
	t.Helper()
	t.Setenv(envAPIKey, "")
	dir := t.TempDir()
	key, err := batontest.Bootstrap(serverBinary(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(addr string) (*grpc.ClientConn, error) { return Dial(addr, WithAPIKey(key)) }
	e := newEnvDir(t, dir, dial, append([]string{"--auth"}, serverArgs...)...)
	id, _, _ := strings.Cut(strings.TrimPrefix(key, "bk_"), "_")
	return &authEnv{testEnv: e, adminKey: key, adminID: id}
}

// dial opens a connection to the test server with the options given (closed at the end of
// the test).
func (e *authEnv) dial(opts ...grpc.DialOption) *grpc.ClientConn {
	e.t.Helper()
	conn, err := Dial(e.srv.Addr, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// clientWith is a client on a connection of its own that sends key (none when empty).
func (e *authEnv) clientWith(key string) *Client {
	return NewClient(e.dial(WithAPIKey(key)))
}

// createKey makes a key as the admin and checks what the server answered.
func (e *authEnv) createKey(name string, role Role) *CreatedAPIKey {
	e.t.Helper()
	k, err := e.client.CreateAPIKey(e.ctx(10*time.Second), name, role)
	if err != nil {
		e.t.Fatalf("create %s key %q: %v", role, name, err)
	}
	if k.ID == "" || k.Name != name || k.Role != role || k.CreatedBy != e.adminID ||
		k.Created.IsZero() || !k.Revoked.IsZero() {
		e.t.Fatalf("created key %+v", k.APIKey)
	}
	if k.KeyText != "bk_"+k.ID+"_"+k.Secret || len(k.Secret) != 64 {
		e.t.Fatalf("key %s: text %d characters, secret %d", k.ID, len(k.KeyText), len(k.Secret))
	}
	return k
}

// shoutWorker makes a worker for "shout" tasks on conn, logging to logger (the test's log
// when nil) and ignoring the process environment.
func (e *authEnv) shoutWorker(conn grpc.ClientConnInterface, id string, logger *slog.Logger) *Worker {
	if logger == nil {
		logger = e.logger
	}
	w := NewWorker(conn, WithLogger(logger), WithEnv(nil), WithWorkerID(id),
		WithReconnectBackoff(50*time.Millisecond, 500*time.Millisecond), WithGracePeriod(10*time.Second))
	w.Handle("shout", Typed(shout))
	return w
}

// defineShout registers, as the admin, the "shout" task and a one-task workflow using it.
func (e *authEnv) defineShout(workflow string) {
	e.t.Helper()
	e.registerTaskDef(map[string]any{"name": "shout", "retryCount": 0, "responseTimeoutSeconds": 30})
	e.registerWorkflow(workflow, map[string]any{"loud": "${s.output.text}"},
		simpleTask("shout", "s", map[string]any{"text": "${workflow.input.text}"}))
}

// waitAudit reads the audit log with q until an entry satisfies match, within d (the log
// is written a few milliseconds after each request), and returns that entry.
func (e *authEnv) waitAudit(q AuditQuery, d time.Duration, match func(AuditEvent) bool) AuditEvent {
	e.t.Helper()
	ctx := e.ctx(d)
	var last []AuditEvent
	for {
		events, err := e.client.ListAuditEvents(ctx, q)
		if err == nil {
			last = events
			for _, ev := range events {
				if match(ev) {
					return ev
				}
			}
		} else if ctx.Err() == nil {
			e.t.Fatalf("list audit events %+v: %v", q, err)
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("no audit entry as expected for %+v within %v; last read: %+v", q, d, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// The admin makes worker, operator and viewer keys. The operator starts a workflow that a
// worker with the worker key completes; the viewer reads it but may not start one; a call
// without a key, or with a wrong one, is refused as unauthenticated. The audit log shows
// the operator's start and the viewer's refused one.
func TestAuthRolesAndAudit(t *testing.T) {
	e := newAuthEnv(t)
	e.defineShout("auth_shout")
	workerKey := e.createKey("worker-1", RoleWorker)
	operatorKey := e.createKey("ops", RoleOperator)
	viewerKey := e.createKey("dashboard", RoleViewer)

	keys, err := e.client.ListAPIKeys(e.ctx(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, k := range keys {
		listed = append(listed, k.Name+":"+string(k.Role)+":"+k.CreatedBy)
	}
	want := []string{"admin:admin:bootstrap", "worker-1:worker:" + e.adminID, "ops:operator:" + e.adminID,
		"dashboard:viewer:" + e.adminID}
	if fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Fatalf("keys listed %v, want %v (oldest first)", listed, want)
	}

	w := e.shoutWorker(e.dial(WithAPIKey(workerKey.KeyText)), "keyed-worker", nil)
	e.run(w)

	operator := e.clientWith(operatorKey.KeyText)
	id, err := operator.StartWorkflow(e.ctx(10*time.Second), "auth_shout", map[string]any{"text": "hi"})
	if err != nil {
		t.Fatalf("operator start: %v", err)
	}
	wf, err := operator.WaitForWorkflow(e.ctx(20*time.Second), id, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("operator wait: %v", err)
	}
	e.expectStatus(wf, wfCompleted)
	if wf.Output["loud"] != "HI" || wf.Tasks[0].WorkerID != "keyed-worker" {
		t.Fatalf("workflow output %v, tasks %v", wf.Output, taskSummary(wf))
	}

	viewer := e.clientWith(viewerKey.KeyText)
	read, err := viewer.GetWorkflow(e.ctx(10*time.Second), id, true)
	if err != nil {
		t.Fatalf("viewer read: %v", err)
	}
	if read.Status != wfCompleted || read.Output["loud"] != "HI" {
		t.Fatalf("viewer read %v %v", read.Status, read.Output)
	}
	_, err = viewer.StartWorkflow(e.ctx(10*time.Second), "auth_shout", map[string]any{"text": "no"})
	if !IsPermissionDenied(err) || IsUnauthenticated(err) || !strings.Contains(err.Error(), "viewer") {
		t.Fatalf("viewer start: %v (code %v), want PERMISSION_DENIED naming the role", err, Code(err))
	}
	if _, err := viewer.ListAPIKeys(e.ctx(10 * time.Second)); !IsPermissionDenied(err) {
		t.Fatalf("viewer list keys: %v, want PERMISSION_DENIED", err)
	}
	if _, err := operator.RegisterTaskDefs(e.ctx(10*time.Second), map[string]any{"name": "x"}); !IsPermissionDenied(err) {
		t.Fatalf("operator registering a task definition: %v, want PERMISSION_DENIED", err)
	}
	if _, err := NewClient(e.dial(WithAPIKey(workerKey.KeyText))).StartWorkflow(e.ctx(10*time.Second), "auth_shout", nil); !IsPermissionDenied(err) {
		t.Fatalf("worker key starting a workflow: %v, want PERMISSION_DENIED", err)
	}

	_, err = e.clientWith("").GetWorkflow(e.ctx(10*time.Second), id, false)
	if !IsUnauthenticated(err) || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("no key: %v (code %v), want UNAUTHENTICATED asking for credentials", err, Code(err))
	}
	forged := "bk_" + operatorKey.ID + "_" + strings.Repeat("0", 64)
	if _, err := e.clientWith(forged).GetWorkflow(e.ctx(10*time.Second), id, false); !IsUnauthenticated(err) {
		t.Fatalf("wrong secret: %v, want UNAUTHENTICATED", err)
	}
	if _, err := e.clientWith("not-a-key").GetWorkflow(e.ctx(10*time.Second), id, false); !IsUnauthenticated(err) {
		t.Fatalf("malformed key: %v, want UNAUTHENTICATED", err)
	}

	started := e.waitAudit(AuditQuery{Actor: operatorKey.ID, Action: "StartWorkflow"}, 10*time.Second,
		func(ev AuditEvent) bool { return ev.Outcome == AuditOK })
	if started.Actor != operatorKey.ID || started.ActorName != "ops" || started.Role != RoleOperator ||
		started.Access != "operate" || started.Time.IsZero() || started.Seq == 0 ||
		!strings.HasSuffix(started.Action, "WorkflowService/StartWorkflow") {
		t.Fatalf("audit entry of the start: %+v", started)
	}
	denied := e.waitAudit(AuditQuery{Action: "startworkflow", Outcome: AuditDenied}, 10*time.Second,
		func(ev AuditEvent) bool { return ev.Actor == viewerKey.ID })
	if denied.Role != RoleViewer || denied.Outcome != AuditDenied || !strings.Contains(denied.Reason, "viewer") {
		t.Fatalf("audit entry of the refused start: %+v", denied)
	}
	anonymous := e.waitAudit(AuditQuery{Actor: "anonymous", Outcome: AuditDenied}, 10*time.Second,
		func(ev AuditEvent) bool { return strings.HasSuffix(ev.Action, "/GetWorkflow") })
	if anonymous.Role != "" || anonymous.Access != "read" {
		t.Fatalf("audit entry of the call without a key: %+v", anonymous)
	}
	for _, ev := range []AuditEvent{started, denied, anonymous} {
		for _, secret := range []string{operatorKey.Secret, viewerKey.Secret} {
			if strings.Contains(fmt.Sprintf("%+v", ev), secret) {
				t.Fatalf("an audit entry holds a secret: %+v", ev)
			}
		}
	}

	// Newest first, a page at a time.
	page, err := e.client.ListAuditEvents(e.ctx(10*time.Second), AuditQuery{Limit: 2})
	if err != nil || len(page) != 2 || page[0].Seq <= page[1].Seq {
		t.Fatalf("first page: %v %+v", err, page)
	}
	next, err := e.client.ListAuditEvents(e.ctx(10*time.Second), AuditQuery{Limit: 2, Before: page[1].Seq})
	if err != nil || len(next) == 0 || next[0].Seq >= page[1].Seq {
		t.Fatalf("next page: %v %+v", err, next)
	}
	none, err := e.client.ListAuditEvents(e.ctx(10*time.Second), AuditQuery{Since: time.Now().Add(time.Hour)})
	if err != nil || len(none) != 0 {
		t.Fatalf("entries from the future: %v %+v", err, none)
	}
	if _, err := e.client.ListAuditEvents(e.ctx(10*time.Second), AuditQuery{Outcome: "maybe"}); err == nil ||
		!strings.Contains(err.Error(), "maybe") {
		t.Fatalf("unknown outcome: %v", err)
	}
	if _, err := e.client.CreateAPIKey(e.ctx(10*time.Second), "x", "root"); err == nil || !strings.Contains(err.Error(), "root") {
		t.Fatalf("unknown role: %v", err)
	}
}

// A revoked worker key is refused on its next call, and a worker with it takes no task
// (it logs the refusal and keeps trying), while a worker with a live key does. The worker's
// logs never show a key.
func TestAuthRevokedKey(t *testing.T) {
	e := newAuthEnv(t)
	e.defineShout("auth_revoked")
	oldKey := e.createKey("old-worker", RoleWorker)
	newKey := e.createKey("new-worker", RoleWorker)

	old := e.clientWith(oldKey.KeyText)
	if task, err := old.PollTask(e.ctx(10*time.Second), "shout", PollOptions{}); err != nil || task != nil {
		t.Fatalf("poll before the revocation: %v %v", task, err)
	}
	revoked, err := e.client.RevokeAPIKey(e.ctx(10*time.Second), oldKey.ID)
	if err != nil {
		t.Fatal(err)
	}
	if revoked.ID != oldKey.ID || revoked.Revoked.IsZero() {
		t.Fatalf("revoked key %+v", revoked)
	}
	again, err := e.client.RevokeAPIKey(e.ctx(10*time.Second), oldKey.ID)
	if err != nil || !again.Revoked.Equal(revoked.Revoked) {
		t.Fatalf("revoking again: %v %+v", err, again)
	}
	if _, err := e.client.RevokeAPIKey(e.ctx(10*time.Second), "0000000000000000"); !IsNotFound(err) {
		t.Fatalf("revoking an unknown key: %v, want NOT_FOUND", err)
	}
	keys, err := e.client.ListAPIKeys(e.ctx(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if (k.ID == oldKey.ID) == k.Revoked.IsZero() {
			t.Fatalf("key %s (%s) revoked at %v", k.ID, k.Name, k.Revoked)
		}
	}

	_, err = old.PollTask(e.ctx(10*time.Second), "shout", PollOptions{})
	if !IsUnauthenticated(err) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("poll with the revoked key: %v (code %v), want UNAUTHENTICATED naming the revocation", err, Code(err))
	}

	id := e.start("auth_revoked", map[string]any{"text": "once"})
	rec := newRecorder(e.logger.Handler())
	stale := e.shoutWorker(e.dial(WithAPIKey(oldKey.KeyText)), "revoked-worker", slog.New(rec))
	e.run(stale)
	refused := func() []logRecord { return rec.find("baton: stream refused; retrying") }
	eventually(t, 10*time.Second, "the revoked worker's refusal in its log", func() bool { return len(refused()) > 0 })
	first := refused()[0]
	if first.level != slog.LevelError || first.attrs["code"].String() != "UNAUTHENTICATED" ||
		!strings.Contains(first.attrs["error"].String(), "revoked") {
		t.Fatalf("refusal logged as %v", first)
	}
	if got := rec.find("baton: stream connected"); len(got) != 0 {
		t.Fatalf("the revoked worker logged a connection: %v", got)
	}
	if wf, err := e.client.GetWorkflow(e.ctx(10*time.Second), id, true); err != nil ||
		len(wf.Tasks) != 1 || wf.Tasks[0].Status != TaskScheduled {
		t.Fatalf("the task with only the revoked worker running: %v %v", err, taskSummary(wf))
	}

	fresh := e.shoutWorker(e.dial(WithAPIKey(newKey.KeyText)), "live-worker", nil)
	e.run(fresh)
	wf := e.wait(id, 20*time.Second)
	e.expectStatus(wf, wfCompleted)
	if wf.Tasks[0].WorkerID != "live-worker" {
		t.Fatalf("tasks: %v", taskSummary(wf))
	}
	if s := stale.Stats(); s.Received != 0 || s.Started != 0 {
		t.Fatalf("the revoked worker took tasks: %+v", s)
	}
	logs := e.logs.tail(1 << 20)
	for _, secret := range []string{oldKey.Secret, newKey.Secret, e.adminKey} {
		if strings.Contains(logs, secret) {
			t.Fatal("a key appears in the logs")
		}
	}

	denied := e.waitAudit(AuditQuery{Action: "TaskService/Work", Outcome: AuditDenied}, 10*time.Second,
		func(ev AuditEvent) bool { return strings.Contains(ev.Reason, "revoked") })
	if !strings.EqualFold(denied.Status, "Unauthenticated") {
		t.Fatalf("audit entry of the refused stream: %+v", denied)
	}
}

// Dial takes the key from BATON_API_KEY when it is given none, and a WithAPIKey wins over
// the environment (WithAPIKey("") sends no key at all). A worker dialled that way works too.
func TestAuthAPIKeyFromEnvironment(t *testing.T) {
	e := newAuthEnv(t)
	e.defineShout("auth_env")
	operatorKey := e.createKey("env-ops", RoleOperator)
	viewerKey := e.createKey("env-viewer", RoleViewer)
	workerKey := e.createKey("env-worker", RoleWorker)

	t.Setenv(envAPIKey, workerKey.KeyText+"\n")
	e.run(e.shoutWorker(e.dial(), "env-worker", nil))

	t.Setenv(envAPIKey, operatorKey.KeyText)
	fromEnv := NewClient(e.dial())
	id, err := fromEnv.StartWorkflow(e.ctx(10*time.Second), "auth_env", map[string]any{"text": "env"})
	if err != nil {
		t.Fatalf("start with the key from the environment: %v", err)
	}
	wf := e.wait(id, 20*time.Second)
	e.expectStatus(wf, wfCompleted)
	if wf.Tasks[0].WorkerID != "env-worker" {
		t.Fatalf("tasks: %v", taskSummary(wf))
	}

	t.Setenv(envAPIKey, viewerKey.KeyText)
	explicit := NewClient(e.dial(WithAPIKey(operatorKey.KeyText)))
	if _, err := explicit.StartWorkflow(e.ctx(10*time.Second), "auth_env", map[string]any{"text": "x"}); err != nil {
		t.Fatalf("start with an explicit operator key over a viewer key in the environment: %v", err)
	}
	if _, err := NewClient(e.dial()).StartWorkflow(e.ctx(10*time.Second), "auth_env", nil); !IsPermissionDenied(err) {
		t.Fatalf("start with the viewer key from the environment: %v, want PERMISSION_DENIED", err)
	}
	if _, err := NewClient(e.dial(WithAPIKey(""))).GetWorkflow(e.ctx(10*time.Second), id, false); !IsUnauthenticated(err) {
		t.Fatalf("WithAPIKey(\"\") with a key in the environment: %v, want UNAUTHENTICATED", err)
	}
	t.Setenv(envAPIKey, "  ")
	if _, err := NewClient(e.dial()).GetWorkflow(e.ctx(10*time.Second), id, false); !IsUnauthenticated(err) {
		t.Fatalf("a blank BATON_API_KEY: %v, want UNAUTHENTICATED", err)
	}

	e.waitAudit(AuditQuery{Actor: "env-ops", Action: "StartWorkflow", Outcome: AuditOK}, 10*time.Second,
		func(ev AuditEvent) bool { return ev.Actor == operatorKey.ID })
}

// A worker's key goes with every stream it opens: after the server restarts, the worker
// reconnects with it and completes the next workflow.
func TestAuthWorkerReconnects(t *testing.T) {
	e := newAuthEnv(t)
	e.defineShout("auth_reconnect")
	workerKey := e.createKey("sturdy", RoleWorker)
	w := e.shoutWorker(e.dial(WithAPIKey(workerKey.KeyText)), "sturdy-worker", nil)
	e.run(w)

	e.expectStatus(e.wait(e.start("auth_reconnect", map[string]any{"text": "a"}), 20*time.Second), wfCompleted)
	e.srv.Stop()
	if err := e.srv.Restart(e.ctx(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	req, err := NewStartRequest("auth_reconnect", map[string]any{"text": "b"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.client.Workflows().StartWorkflow(e.ctx(20*time.Second), req, grpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	wf := e.wait(resp.GetWorkflowId(), 30*time.Second)
	e.expectStatus(wf, wfCompleted)
	if wf.Output["loud"] != "B" || wf.Tasks[0].WorkerID != "sturdy-worker" {
		t.Fatalf("after the restart: %v %v", wf.Output, taskSummary(wf))
	}
	if s := w.Stats(); s.Reconnects < 1 || s.Completed != 2 {
		t.Fatalf("worker stats %+v", s)
	}
}

// Over TLS the key goes the same way.
func TestAuthOverTLS(t *testing.T) {
	clearTLSEnv(t)
	bin := serverBinary(t)
	certs := testCerts(t)
	dir := t.TempDir()
	admin, err := batontest.Bootstrap(bin, dir)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--auth"}, certs.ServerArgs(false)...)
	var url string
	e := newEnvDir(t, dir, func(addr string) (*grpc.ClientConn, error) {
		url = localhostURL(t, "https", addr)
		return DialTLS(url, TLSConfig{CAFile: certs.CA}, WithAPIKey(admin))
	}, args...)
	key, err := e.client.CreateAPIKey(e.ctx(10*time.Second), "tls-worker", RoleWorker)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := DialTLS(url, TLSConfig{CAFile: certs.CA}, WithAPIKey(key.KeyText))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	runShout(e, conn, "auth_tls_shout")

	bare, err := DialTLS(url, TLSConfig{CAFile: certs.CA})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bare.Close() })
	if _, err := NewClient(bare).ListWorkflowDefs(e.ctx(10*time.Second), false); !IsUnauthenticated(err) {
		t.Fatalf("TLS without a key: %v, want UNAUTHENTICATED", err)
	}
}

// headerServer is a TaskService that records the authorization metadata of every call and
// stream, and answers each with nothing.
type headerServer struct {
	batonv1.UnimplementedTaskServiceServer
	mu   sync.Mutex
	seen [][]string
}

func (s *headerServer) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	s.seen = append(s.seen, md.Get("authorization"))
	s.mu.Unlock()
}

func (s *headerServer) last() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return nil
	}
	return s.seen[len(s.seen)-1]
}

func (s *headerServer) GetTask(ctx context.Context, _ *batonv1.GetTaskRequest) (*batonv1.GetTaskResponse, error) {
	s.record(ctx)
	return &batonv1.GetTaskResponse{}, nil
}

func (s *headerServer) Work(stream grpc.BidiStreamingServer[batonv1.WorkRequest, batonv1.WorkResponse]) error {
	s.record(stream.Context())
	return nil
}

// Exactly one "authorization: Bearer <key>" goes with unary calls and streams: that of the
// last WithAPIKey, else BATON_API_KEY, else none. WithAPIKey works with grpc.NewClient too,
// and the option never prints its key.
func TestAPIKeyMetadata(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := &headerServer{}
	batonv1.RegisterTaskServiceServer(srv, hs)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	addr := lis.Addr().String()

	check := func(what string, want []string, opts ...grpc.DialOption) {
		t.Helper()
		conn, err := Dial(addr, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := NewClient(conn).GetTask(ctx, "t"); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := hs.last(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: unary call sent authorization %q, want %q", what, got, want)
		}
		stream, err := batonv1.NewTaskServiceClient(conn).Work(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err == nil {
			t.Fatalf("%s: the stream sent a message", what)
		}
		if got := hs.last(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: stream sent authorization %q, want %q", what, got, want)
		}
	}

	t.Setenv(envAPIKey, "")
	check("no key", nil)
	check("explicit key", []string{"Bearer bk_1_a"}, WithAPIKey(" bk_1_a\n"))
	check("last explicit key", []string{"Bearer bk_2_b"}, WithAPIKey("bk_1_a"), WithAPIKey("bk_2_b"))
	t.Setenv(envAPIKey, "bk_3_c")
	check("key from the environment", []string{"Bearer bk_3_c"})
	check("explicit key over the environment", []string{"Bearer bk_1_a"}, WithAPIKey("bk_1_a"))
	check("explicit empty key over the environment", nil, WithAPIKey(""))

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), WithAPIKey("bk_4_d"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := NewClient(conn).GetTask(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if got := hs.last(); fmt.Sprint(got) != "[Bearer bk_4_d]" {
		t.Fatalf("grpc.NewClient with WithAPIKey sent %q", got)
	}

	opt := WithAPIKey("bk_5_topsecret")
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(format, opt); strings.Contains(s, "topsecret") {
			t.Fatalf("%s shows the key: %s", format, s)
		}
	}
}
