package baton

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

// A session that lasted this long counts as healthy: the next reconnect starts from the
// shortest backoff again.
const healthySession = 10 * time.Second

// How many times a result refused with a transient code is sent again before it is dropped.
const maxResultRetries = 20

// runner serves one task type: it owns the stream for that type, the running handlers and
// the results waiting for acknowledgement.
type runner struct {
	w        *Worker
	taskType string
	settings taskSettings
	handler  Handler
	log      *slog.Logger
	metrics  *typeMetrics // nil without metrics

	// notify wakes the stream loop when there is something to send or check.
	notify chan struct{}
	// stop is closed when the worker gives up (grace period expired).
	stop chan struct{}

	mu          sync.Mutex
	paused      bool
	draining    bool
	done        bool // drained: the loop is ending, arrivals are left to the server
	abandoned   bool
	connected   bool
	outage      bool // the stream was lost and no new one has worked yet
	sessions    int
	healthy     bool
	outstanding int // credit the server holds for this type on the current stream
	grant       int // credit still to send on the current stream
	running     map[string]*execution
	pending     map[string]*pendingResult
	seq         uint64
	sendQueue   []string
	leaseQueue  []*batonv1.LeaseExtension
	// maxMessage is the largest message the server reads, as the current (or last) stream's
	// response header said; results that would make a larger message are not sent.
	maxMessage int
	// Running tasks to claim back after a reconnect (IN_PROGRESS reports under their token).
	reclaimQueue []*batonv1.TaskResult
	// Final results refused as stale, kept a while in case their task comes back.
	refused      map[string]refusedResult
	refusedOrder []string
}

// refusedResult is a final result the server refused as stale.
type refusedResult struct {
	result *batonv1.TaskResult
	at     time.Time
}

// How long, and how many, refused results are kept.
const (
	refusedTTL = time.Minute
	refusedMax = 4096
)

func (r *runner) rememberRefusedLocked(res *batonv1.TaskResult) {
	if r.refused == nil {
		r.refused = map[string]refusedResult{}
	}
	now := time.Now()
	for len(r.refusedOrder) > 0 {
		old, ok := r.refused[r.refusedOrder[0]]
		if ok && now.Sub(old.at) < refusedTTL && len(r.refused) < refusedMax {
			break
		}
		delete(r.refused, r.refusedOrder[0])
		r.refusedOrder = r.refusedOrder[1:]
	}
	if _, dup := r.refused[res.TaskId]; !dup {
		r.refusedOrder = append(r.refusedOrder, res.TaskId)
	}
	r.refused[res.TaskId] = refusedResult{result: res, at: now}
}

func (r *runner) takeRefusedLocked(id string) *batonv1.TaskResult {
	e, ok := r.refused[id]
	if !ok {
		return nil
	}
	delete(r.refused, id)
	if time.Since(e.at) >= refusedTTL {
		return nil
	}
	// A fresh copy: the refused one may still be referenced by a message being sent.
	return copyResult(e.result)
}

// copyResult makes a shallow copy of a result (output and logs are never changed after a
// result is made, so they are shared).
func copyResult(res *batonv1.TaskResult) *batonv1.TaskResult {
	return &batonv1.TaskResult{
		TaskId:                res.TaskId,
		Token:                 res.Token,
		Status:                res.Status,
		Output:                res.Output,
		ReasonForIncompletion: res.ReasonForIncompletion,
		Logs:                  res.Logs,
		CallbackAfterSeconds:  res.CallbackAfterSeconds,
		WorkerId:              res.WorkerId,
		WorkflowId:            res.WorkflowId,
	}
}

// execution is one running handler call.
type execution struct {
	task   *Task
	token  string // the newest token the server gave for this task
	cancel context.CancelCauseFunc
	timer  *time.Timer
}

// pendingResult is a result waiting for the server's acknowledgement.
type pendingResult struct {
	result   *batonv1.TaskResult // Token changes only under runner.mu; sent as a copy
	seq      uint64
	queued   bool
	giveBack bool
	retries  int
}

func (r *runner) wake() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *runner) setPaused(p bool) {
	r.mu.Lock()
	changed := r.paused != p
	r.paused = p
	r.rebalanceLocked()
	r.mu.Unlock()
	if changed {
		if p {
			r.log.Info("baton: task type paused")
		} else {
			r.log.Info("baton: task type resumed")
		}
	}
	r.wake()
}

// beginDrain stops taking tasks and returns how many handlers are running.
func (r *runner) beginDrain() int {
	r.mu.Lock()
	r.draining = true
	n := len(r.running)
	r.mu.Unlock()
	r.wake()
	return n
}

// abandonNow gives up on the remaining work and returns how much there was.
func (r *runner) abandonNow() (running, pending int) {
	r.mu.Lock()
	r.abandoned = true
	running, pending = len(r.running), len(r.pending)
	r.mu.Unlock()
	close(r.stop)
	r.wake()
	return running, pending
}

// finishedLocked reports whether the loop should end.
func (r *runner) finishedLocked() bool {
	return r.abandoned || r.done || (r.draining && len(r.running) == 0 && len(r.pending) == 0)
}

func (r *runner) finished() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finishedLocked()
}

// rebalanceLocked tops the server's credit up to the number of free slots.
func (r *runner) rebalanceLocked() {
	if r.paused || r.draining || r.done || !r.connected {
		return
	}
	want := r.settings.concurrency - len(r.running) - r.outstanding - r.grant
	if want > 0 {
		r.grant += want
	}
}

// loop keeps a stream open until the runner is finished, reconnecting with backoff.
func (r *runner) loop() {
	cfg := &r.w.cfg
	delay := cfg.backoffMin
	failures := 0 // sessions in a row that ended without ever working
	for {
		if r.finished() {
			return
		}
		started := time.Now()
		err := r.session()
		if r.finished() {
			return
		}
		r.mu.Lock()
		healthy := r.healthy || time.Since(started) >= healthySession
		r.healthy = false
		r.mu.Unlock()
		if healthy {
			delay = cfg.backoffMin
			failures = 0
		}
		failures++
		r.mu.Lock()
		r.outage = true
		r.mu.Unlock()
		wait := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		// Warn once per outage (and now and then while it lasts), not at every attempt.
		level := slog.LevelDebug
		if failures == 1 || failures%20 == 0 {
			level = slog.LevelWarn
		}
		if code := refusalCode(err); code != "" {
			// The server refused the worker's credentials or role: no task comes until the
			// key (or its role) is changed, so say so loudly.
			if level == slog.LevelWarn {
				level = slog.LevelError
			}
			r.log.Log(context.Background(), level, "baton: stream refused; retrying", "code", code,
				"error", err, "backoff", wait, "attempt", failures)
		} else {
			r.log.Log(context.Background(), level, "baton: stream lost; reconnecting", "error", err,
				"backoff", wait, "attempt", failures)
		}
		timer := time.NewTimer(wait)
	waiting:
		for {
			select {
			case <-timer.C:
				break waiting
			case <-r.stop:
				timer.Stop()
				return
			case <-r.notify:
				if r.finished() {
					timer.Stop()
					return
				}
			}
		}
		delay = min(delay*2, cfg.backoffMax)
		if c, ok := r.w.conn.(interface{ ResetConnectBackoff() }); ok {
			c.ResetConnectBackoff()
		}
	}
}

// refusalCode names the status of an error refusing the worker's credentials
// (UNAUTHENTICATED) or role (PERMISSION_DENIED), and is "" for any other error.
func refusalCode(err error) string {
	switch {
	case IsUnauthenticated(err):
		return "UNAUTHENTICATED"
	case IsPermissionDenied(err):
		return "PERMISSION_DENIED"
	}
	return ""
}

// errDrained ends a session whose work is done.
var errDrained = errors.New("drained")

// session runs one stream from subscription until it breaks or the runner is finished.
func (r *runner) session() error {
	ctx, cancel := context.WithCancel(r.w.base)
	defer cancel()
	stream, err := r.w.tasks.Work(ctx)
	if err != nil {
		return err
	}

	credits := r.connect()
	defer r.disconnect()
	sub := &batonv1.WorkRequest{Kind: &batonv1.WorkRequest_Subscribe{Subscribe: &batonv1.Subscribe{
		TaskTypes: []string{r.taskType},
		Domain:    r.settings.domain,
		WorkerId:  r.w.cfg.workerID,
		Credits:   int32(credits),
		Batch:     r.settings.batch,
	}}}

	recvDone := make(chan error, 1)
	if err := stream.Send(sub); err != nil {
		cancel()
		_, rerr := stream.Recv()
		return firstErr(rerr, err)
	}
	// The server sends its response headers once it has read the Subscribe, before any task.
	md, err := stream.Header()
	if err != nil {
		return err
	}
	if md == nil {
		// The stream ended before the server sent its headers: refused (bad credentials, a
		// role without access) or broken. Recv has the status.
		_, rerr := stream.Recv()
		return firstErr(rerr, io.ErrUnexpectedEOF)
	}
	limit, herr := maxMessageBytes(md)
	if herr != nil {
		r.log.Warn("baton: unreadable message limit from the server; assuming the default",
			"error", herr, "max_message_bytes", limit)
	}
	r.mu.Lock()
	r.maxMessage = limit
	r.mu.Unlock()
	r.log.Info("baton: stream connected", "credits", credits, "domain", r.settings.domain,
		"batch", r.settings.batch, "session", r.sessionCount(), "max_message_bytes", limit)
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				recvDone <- err
				return
			}
			r.dispatch(msg)
		}
	}()
	// waitRecv ends the stream and waits for the receiving goroutine, so that no message of
	// this stream is handled after the session ends.
	waitRecv := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case err := <-recvDone:
			return err
		case <-t.C:
		}
		cancel()
		return <-recvDone
	}

	for {
		if r.settings.batch {
			// Let handlers that are finishing at this moment queue their results, so that
			// they go in the same message; this yields the processor once and waits for
			// nothing.
			runtime.Gosched()
		}
		msgs, finished := r.outgoing()
		for _, m := range msgs {
			if err := stream.Send(m); err != nil {
				// The real status comes from Recv.
				return firstErr(waitRecv(time.Second), err)
			}
			if m.GetExtendLease() != nil {
				r.w.stats.leases.Add(1)
			} else if m.GetResults() != nil {
				r.w.stats.resultBatches.Add(1)
			}
		}
		if finished {
			_ = stream.CloseSend()
			_ = waitRecv(2 * time.Second)
			return errDrained
		}
		select {
		case <-r.notify:
		case err := <-recvDone:
			return err
		case <-r.stop:
			return firstErr(waitRecv(0), ErrGracePeriodExpired)
		}
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil && !errors.Is(e, io.EOF) {
			return e
		}
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// connect marks a new stream as open and returns the credit to subscribe with. Every result
// still waiting for acknowledgement is queued to be sent again on the new stream.
func (r *runner) connect() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions++
	if r.sessions > 1 {
		r.w.stats.reconnects.Add(1)
		if r.metrics != nil {
			r.metrics.reconnects.Inc()
		}
	}
	r.connected = true
	r.grant = 0
	r.leaseQueue = nil
	credits := 0
	if !r.paused && !r.draining {
		credits = max(r.settings.concurrency-len(r.running), 0)
	}
	r.outstanding = credits
	ids := make([]string, 0, len(r.pending))
	for id, p := range r.pending {
		p.queued = true
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return r.pending[ids[i]].seq < r.pending[ids[j]].seq })
	r.sendQueue = ids
	if r.sessions > 1 {
		r.w.stats.resent.Add(int64(len(ids)))
	}
	// When a stream breaks the server puts its tasks back in their queue, but takes them
	// back from the worker that held them when it reports them IN_PROGRESS (without a
	// callback) under its token before anyone else takes them. Claim every task still
	// running so that nobody else runs it meanwhile.
	r.reclaimQueue = r.reclaimQueue[:0]
	if r.sessions > 1 {
		for id, ex := range r.running {
			r.reclaimQueue = append(r.reclaimQueue, &batonv1.TaskResult{
				TaskId:     id,
				Token:      ex.token,
				Status:     batonv1.TaskStatus_TASK_STATUS_IN_PROGRESS,
				WorkerId:   r.w.cfg.workerID,
				WorkflowId: ex.task.WorkflowID,
			})
		}
	}
	return credits
}

func (r *runner) sessionCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sessions
}

func (r *runner) disconnect() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connected = false
	r.outstanding = 0
	r.grant = 0
	r.sendQueue = r.sendQueue[:0]
	r.leaseQueue = nil
	r.reclaimQueue = r.reclaimQueue[:0]
	for _, p := range r.pending {
		p.queued = false
	}
}

// outgoing takes the messages to send now and tells whether the runner is finished (all
// drained): then nothing more is sent and arrivals are left to the server.
func (r *runner) outgoing() ([]*batonv1.WorkRequest, bool) {
	r.mu.Lock()
	msgs, finished, big := r.outgoingLocked()
	r.mu.Unlock()
	for _, b := range big {
		r.logTooLarge(b)
	}
	return msgs, finished
}

func (r *runner) outgoingLocked() (msgs []*batonv1.WorkRequest, finished bool, big []*oversized) {
	if r.finishedLocked() {
		r.done = true
		return nil, true, nil
	}
	var results []*batonv1.TaskResult
	for _, res := range r.reclaimQueue {
		if ex := r.running[res.TaskId]; ex != nil && ex.token == res.Token {
			results = append(results, res)
		}
	}
	r.reclaimQueue = r.reclaimQueue[:0]
	for _, id := range r.sendQueue {
		p := r.pending[id]
		if p == nil || !p.queued {
			continue
		}
		p.queued = false
		// Checked again at every send: the limit may have changed with a reconnect, and the
		// token with a task handed out again.
		if b := r.fitLocked(p.result); b != nil {
			p.result = b.replacement
			big = append(big, b)
			if r.metrics != nil && !isFailure(b.status) {
				r.metrics.failures.Inc()
			}
		}
		results = append(results, copyResult(p.result))
	}
	r.sendQueue = r.sendQueue[:0]
	msgs = appendResults(msgs, results, r.settings.batch)
	for _, le := range r.leaseQueue {
		msgs = append(msgs, &batonv1.WorkRequest{Kind: &batonv1.WorkRequest_ExtendLease{ExtendLease: le}})
	}
	r.leaseQueue = nil
	if r.grant > 0 {
		msgs = append(msgs, &batonv1.WorkRequest{Kind: &batonv1.WorkRequest_Credits{
			Credits: &batonv1.GrantCredits{Credits: int32(r.grant)},
		}})
		r.outstanding += r.grant
		r.grant = 0
	}
	return msgs, false, big
}

// maxResultBatch is the most results one ResultBatch may carry.
const maxResultBatch = 1000

// maxResultBatchBytes bounds the encoded size of one ResultBatch, well under the server's
// message limit (its payload limit, 4 MiB by default, plus 1 MiB), so that results
// finishing together never make a message the server cannot read. A result larger than
// this goes alone; every result was checked against the server's message limit before
// (see tooLarge).
const maxResultBatchBytes = 1 << 20

// appendResults adds the messages carrying results: with batching, the results ready now go
// in ResultBatch messages of at most maxResultBatch results and maxResultBatchBytes bytes (a
// batch of one as a plain result message); without, one message per result.
func appendResults(msgs []*batonv1.WorkRequest, results []*batonv1.TaskResult, batch bool) []*batonv1.WorkRequest {
	single := func(res *batonv1.TaskResult) {
		msgs = append(msgs, &batonv1.WorkRequest{Kind: &batonv1.WorkRequest_Result{Result: res}})
	}
	if !batch {
		for _, res := range results {
			single(res)
		}
		return msgs
	}
	for len(results) > 0 {
		n, size := 0, 0
		for n < len(results) && n < maxResultBatch {
			s := proto.Size(results[n])
			if n > 0 && size+s > maxResultBatchBytes {
				break
			}
			size += s
			n++
		}
		if n == 1 {
			single(results[0])
		} else {
			msgs = append(msgs, &batonv1.WorkRequest{Kind: &batonv1.WorkRequest_Results{
				Results: &batonv1.ResultBatch{Results: results[:n:n]},
			}})
		}
		results = results[n:]
	}
	return msgs
}

// enqueueLocked queues a pending result to be sent on the current stream.
func (r *runner) enqueueLocked(id string) {
	p := r.pending[id]
	if p == nil || p.queued || !r.connected {
		return
	}
	p.queued = true
	r.sendQueue = append(r.sendQueue, id)
}

func (r *runner) addPendingLocked(res *batonv1.TaskResult, giveBack bool) {
	r.seq++
	r.pending[res.TaskId] = &pendingResult{result: res, seq: r.seq, giveBack: giveBack}
	r.enqueueLocked(res.TaskId)
}

// dispatch handles one message from the server.
func (r *runner) dispatch(msg *batonv1.WorkResponse) {
	r.mu.Lock()
	restored := r.outage
	r.outage = false
	r.mu.Unlock()
	if restored {
		r.log.Info("baton: stream restored")
	}
	switch k := msg.GetKind().(type) {
	case *batonv1.WorkResponse_Task:
		r.onTask(k.Task)
	case *batonv1.WorkResponse_ResultAck:
		r.onResultAck(k.ResultAck)
	case *batonv1.WorkResponse_Tasks:
		r.w.stats.taskBatches.Add(1)
		for _, a := range k.Tasks.GetTasks() {
			r.onTask(a)
		}
	case *batonv1.WorkResponse_ResultAcks:
		r.w.stats.ackBatches.Add(1)
		for _, ack := range k.ResultAcks.GetAcks() {
			r.onResultAck(ack)
		}
	case *batonv1.WorkResponse_LeaseAck:
		r.onLeaseAck(k.LeaseAck)
	}
}

func (r *runner) onTask(a *batonv1.TaskAssignment) {
	r.w.stats.received.Add(1)
	id := a.GetTaskId()
	r.mu.Lock()
	r.healthy = true
	r.outstanding--
	if r.done || r.abandoned {
		// The stream is closing: the server hands the task to someone else.
		r.mu.Unlock()
		return
	}
	if ex := r.running[id]; ex != nil {
		// Handed out again (after a reconnect) while the earlier handler call still runs:
		// keep that call and report its result under the new token.
		r.log.Debug("baton: task handed out again while running; keeping the running call", "task_id", id)
		ex.token = a.GetToken()
		r.armTimerLocked(ex)
		r.rebalanceLocked()
		r.mu.Unlock()
		r.wake()
		return
	}
	if p := r.pending[id]; p != nil {
		if !p.giveBack {
			// The result was computed but not acknowledged before the stream broke, and the
			// server handed the task out again: report that result under the new token.
			r.log.Debug("baton: task handed out again before its result was acknowledged; re-sending the result", "task_id", id)
			p.result.Token = a.GetToken()
			p.queued = false
			r.enqueueLocked(id)
			r.rebalanceLocked()
			r.mu.Unlock()
			r.wake()
			return
		}
		delete(r.pending, id)
	}
	if res := r.takeRefusedLocked(id); res != nil {
		// The result was refused as stale (the server had lost track of this worker's lease,
		// for instance across a restart) and the same task instance came back: report that
		// result under the new token instead of running the task again.
		r.log.Debug("baton: refused result's task handed out again; re-sending the result", "task_id", id)
		res.Token = a.GetToken()
		r.addPendingLocked(res, false)
		r.rebalanceLocked()
		r.mu.Unlock()
		r.wake()
		return
	}
	if r.paused || r.draining {
		// Hand the task back: an IN_PROGRESS report with a callback puts it back in its
		// queue once the callback is due (one second, the shortest the protocol offers).
		r.w.stats.givenBack.Add(1)
		r.addPendingLocked(&batonv1.TaskResult{
			TaskId:               id,
			Token:                a.GetToken(),
			Status:               batonv1.TaskStatus_TASK_STATUS_IN_PROGRESS,
			CallbackAfterSeconds: 1,
			WorkerId:             r.w.cfg.workerID,
			WorkflowId:           a.GetWorkflowId(),
		}, true)
		r.rebalanceLocked()
		r.mu.Unlock()
		r.wake()
		return
	}
	task := newTask(a)
	ctx, cancel := context.WithCancelCause(context.WithValue(r.w.base, taskContextKey{}, task))
	ex := &execution{task: task, token: a.GetToken(), cancel: cancel}
	r.running[id] = ex
	r.w.stats.running.Add(1)
	if r.metrics != nil {
		r.metrics.received.Inc()
		r.metrics.inFlight.Inc()
	}
	r.armTimerLocked(ex)
	start := r.w.hookStart
	r.mu.Unlock()
	if start != nil {
		start(id, a.GetToken())
	}
	go r.execute(ctx, ex)
}

// armTimerLocked (re)starts the lease timer of a running task: it extends the lease at 80%
// of the response timeout, or, with lease extension off, cancels the handler when the
// timeout has passed.
func (r *runner) armTimerLocked(ex *execution) {
	rt := ex.task.ResponseTimeout
	if rt <= 0 {
		return
	}
	if ex.timer != nil {
		ex.timer.Stop()
	}
	if !r.settings.leaseExtension {
		ex.timer = time.AfterFunc(rt, func() { ex.cancel(ErrLeaseExpired) })
		return
	}
	period := max(rt*8/10, 100*time.Millisecond)
	id := ex.task.ID
	var t *time.Timer
	t = time.AfterFunc(period, func() {
		r.mu.Lock()
		if r.running[id] != ex || ex.timer != t {
			r.mu.Unlock()
			return
		}
		if r.connected {
			r.leaseQueue = append(r.leaseQueue, &batonv1.LeaseExtension{
				TaskId:     id,
				Token:      ex.token,
				WorkflowId: ex.task.WorkflowID,
			})
		}
		t.Reset(period)
		r.mu.Unlock()
		r.wake()
	})
	ex.timer = t
}

// handlerOutcome is what a handler call produced.
type handlerOutcome struct {
	out   any
	err   error
	stack []byte
}

func callHandler(ctx context.Context, h Handler, t *Task) (o handlerOutcome) {
	defer func() {
		if v := recover(); v != nil {
			o = handlerOutcome{err: fmt.Errorf("panic: %v", v), stack: debug.Stack()}
		}
	}()
	out, err := h.Execute(ctx, t)
	return handlerOutcome{out: out, err: err}
}

func (r *runner) execute(ctx context.Context, ex *execution) {
	r.w.stats.started.Add(1)
	began := time.Now()
	o := callHandler(ctx, r.handler, ex.task)
	elapsed := time.Since(began)
	res := r.buildResult(ex.task, o)
	ex.cancel(context.Canceled)
	if o.err != nil {
		// The error text, never the task's input or output.
		attrs := []any{"task_id", ex.task.ID, "workflow_id", ex.task.WorkflowID,
			"attempt", ex.task.RetryCount, "status", res.Status.String(), "error", o.err}
		if o.stack != nil {
			r.log.Error("baton: handler panicked", attrs...)
		} else {
			r.log.Warn("baton: handler failed", attrs...)
		}
	}
	outputBytes := 0
	if r.metrics != nil {
		outputBytes = proto.Size(res.Output)
	}

	r.mu.Lock()
	if ex.timer != nil {
		ex.timer.Stop()
	}
	delete(r.running, ex.task.ID)
	r.w.stats.running.Add(-1)
	res.Token = ex.token
	big := r.fitLocked(res)
	if big != nil {
		res = big.replacement
	}
	if r.metrics != nil {
		r.metrics.finish(strings.TrimPrefix(res.Status.String(), "TASK_STATUS_"), elapsed, outputBytes)
	}
	r.addPendingLocked(res, false)
	r.rebalanceLocked()
	r.mu.Unlock()
	if big != nil {
		r.logTooLarge(big)
	}
	r.wake()
}

// defaultMaxMessageBytes is the largest message a server that does not say is assumed to
// read: gRPC's usual default.
const defaultMaxMessageBytes = 4 << 20

// maxMessageHeader is the response header of the worker stream in which the server names
// the largest message (in bytes) it reads.
const maxMessageHeader = "baton-max-message-bytes"

// maxMessageBytes returns the message limit the stream's response headers name, or
// defaultMaxMessageBytes when they name none (an older server) or one that is not a
// positive decimal number (then with an error saying so).
func maxMessageBytes(md metadata.MD) (int, error) {
	vals := md.Get(maxMessageHeader)
	if len(vals) == 0 {
		return defaultMaxMessageBytes, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(vals[0]), 10, 64)
	if err != nil || n <= 0 {
		return defaultMaxMessageBytes, fmt.Errorf("%s: %q is not a positive number of bytes", maxMessageHeader, vals[0])
	}
	return int(min(n, int64(math.MaxInt))), nil
}

// oversized is a result too large to send, and the FAILED result sent in its place.
type oversized struct {
	replacement *batonv1.TaskResult
	status      batonv1.TaskStatus // the status of the result not sent
	size, limit int
	logs        int // log lines dropped with it
}

// tooLarge checks the size of the message that carries res alone against limit. When it
// is larger, it returns the result to send instead: FAILED for the same task, token,
// workflow and worker, without output or log lines, with a reason that names the size and
// the limit. The replacement is small, so it is never too large in turn.
func tooLarge(res *batonv1.TaskResult, limit int) *oversized {
	size := proto.Size(&batonv1.WorkRequest{Kind: &batonv1.WorkRequest_Result{Result: res}})
	if size <= limit {
		return nil
	}
	return &oversized{
		replacement: &batonv1.TaskResult{
			TaskId:   res.TaskId,
			Token:    res.Token,
			Status:   batonv1.TaskStatus_TASK_STATUS_FAILED,
			WorkerId: res.WorkerId,
			ReasonForIncompletion: fmt.Sprintf("the task result is %d bytes, more than the %d bytes the server reads in one message",
				size, limit),
			WorkflowId: res.WorkflowId,
		},
		status: res.Status,
		size:   size,
		limit:  limit,
		logs:   len(res.Logs),
	}
}

// fitLocked checks a result about to be sent against the current stream's message limit
// (see tooLarge), counting it when it is too large.
func (r *runner) fitLocked(res *batonv1.TaskResult) *oversized {
	limit := r.maxMessage
	if limit <= 0 {
		limit = defaultMaxMessageBytes
	}
	b := tooLarge(res, limit)
	if b != nil {
		r.w.stats.tooLarge.Add(1)
	}
	return b
}

func (r *runner) logTooLarge(b *oversized) {
	r.log.Error("baton: task result too large; reporting the task FAILED",
		"task_id", b.replacement.TaskId, "workflow_id", b.replacement.WorkflowId,
		"size", b.size, "limit", b.limit, "status", b.status.String(), "logs_dropped", b.logs)
}

func isFailure(s batonv1.TaskStatus) bool {
	return s == batonv1.TaskStatus_TASK_STATUS_FAILED || s == batonv1.TaskStatus_TASK_STATUS_FAILED_WITH_TERMINAL_ERROR
}

// buildResult turns a handler's outcome into the result to report.
func (r *runner) buildResult(t *Task, o handlerOutcome) *batonv1.TaskResult {
	res := &batonv1.TaskResult{
		TaskId:     t.ID,
		WorkerId:   r.w.cfg.workerID,
		WorkflowId: t.WorkflowID,
		Status:     batonv1.TaskStatus_TASK_STATUS_COMPLETED,
	}
	output := o.out
	switch {
	case o.err != nil:
		res.Status = batonv1.TaskStatus_TASK_STATUS_FAILED
		if IsTerminalError(o.err) {
			res.Status = batonv1.TaskStatus_TASK_STATUS_FAILED_WITH_TERMINAL_ERROR
		}
		res.ReasonForIncompletion = o.err.Error()
		if o.stack != nil {
			t.Logf("%v\n%s", o.err, o.stack)
		}
		if _, isIP := output.(*InProgressResult); isIP {
			output = nil
		}
	default:
		var ip *InProgressResult
		switch v := output.(type) {
		case *InProgressResult:
			ip = v
		case InProgressResult:
			ip = &v
		}
		if ip != nil {
			res.Status = batonv1.TaskStatus_TASK_STATUS_IN_PROGRESS
			// At least one second: without a callback the server would keep the task leased
			// to this worker (a heartbeat), and nobody would run it again.
			secs := int64((ip.After + time.Second - 1) / time.Second)
			res.CallbackAfterSeconds = max(secs, 1)
			output = ip.Output
		}
	}
	s, err := toOutputStruct(output)
	if err != nil {
		if res.Status != batonv1.TaskStatus_TASK_STATUS_FAILED_WITH_TERMINAL_ERROR {
			res.Status = batonv1.TaskStatus_TASK_STATUS_FAILED
		}
		msg := "cannot encode the handler's output: " + err.Error()
		if res.ReasonForIncompletion != "" {
			res.ReasonForIncompletion += "; " + msg
		} else {
			res.ReasonForIncompletion = msg
		}
	}
	res.Output = s
	res.Logs = t.takeLogs()
	return res
}

func toOutputStruct(v any) (s *structpb.Struct, err error) {
	// A nil pointer of a concrete type stored in the interface counts as no output.
	if ip, ok := v.(*InProgressResult); ok && ip == nil {
		return nil, nil
	}
	return ToStruct(v)
}

// Codes with which a refused lease extension may be taken on a later try.
var transientCodes = map[string]bool{
	"": true, "UNAVAILABLE": true, "INTERNAL": true, "ABORTED": true, "DEADLINE_EXCEEDED": true,
	"RESOURCE_EXHAUSTED": true, "UNKNOWN": true, "CANCELLED": true,
}

// Codes with which the server refuses a result as stale: the lease is gone (the task timed
// out, was handed to someone else, or ended) or the task is unknown. Such a result is
// dropped.
var staleCodes = map[string]bool{"FAILED_PRECONDITION": true, "NOT_FOUND": true}

// Codes with which the server refuses a result for what it carries (an output over the
// payload limit, for instance). Sending it again cannot help: the task is reported FAILED
// instead, once.
var invalidCodes = map[string]bool{"INVALID_ARGUMENT": true, "OUT_OF_RANGE": true}

// refusedResultReason is the reason of the FAILED result sent in place of one the server
// refused with one of invalidCodes.
func refusedResultReason(code, message string) string {
	return fmt.Sprintf("the server refused the task result: %s: %s", code, message)
}

// onResultAck handles the server's answer to a result. A result taken is forgotten. One
// refused is, by the code of the refusal:
//   - stale (staleCodes): dropped;
//   - invalid (invalidCodes): replaced by a FAILED result for the same task and token, with
//     no output and a reason quoting the refusal, and that is sent; a FAILED result refused
//     so (the handler's own, or that replacement) is dropped, and so is a task handed back
//     unrun;
//   - anything else: sent again after a backoff, up to maxResultRetries times, then dropped.
func (r *runner) onResultAck(ack *batonv1.Ack) {
	if h := r.w.hookAck; h != nil {
		h(ack.GetTaskId(), ack.GetToken(), ack.GetOk(), ack.GetCode())
	}
	id := ack.GetTaskId()
	r.mu.Lock()
	r.healthy = true
	p := r.pending[id]
	if p == nil || p.result.Token != ack.GetToken() {
		// Either the answer to a claim of a running task after a reconnect, or an answer
		// about a token this worker no longer reports under.
		// A refused claim is only logged: the handler goes on, since the server may still
		// hand the task to this worker again (then the running call's result is reported
		// under the new token); otherwise its result will be refused like any stale one.
		ex := r.running[id]
		claimRefused := ex != nil && !ack.GetOk() && ex.token == ack.GetToken()
		r.mu.Unlock()
		if claimRefused {
			r.log.Info("baton: running task not claimed back after a reconnect", "task_id", id,
				"workflow_id", ex.task.WorkflowID, "code", ack.GetCode(), "error", ack.GetMessage())
		}
		return
	}
	if ack.GetOk() {
		delete(r.pending, id)
		if !p.giveBack {
			r.w.stats.completed.Add(1)
		}
		r.mu.Unlock()
		r.wake()
		return
	}
	code := ack.GetCode()
	invalid := invalidCodes[code]
	if invalid && !p.giveBack && p.result.Status != batonv1.TaskStatus_TASK_STATUS_FAILED {
		refused := p.result
		p.result = &batonv1.TaskResult{
			TaskId:                refused.TaskId,
			Token:                 refused.Token,
			Status:                batonv1.TaskStatus_TASK_STATUS_FAILED,
			ReasonForIncompletion: refusedResultReason(code, ack.GetMessage()),
			Logs:                  refused.Logs,
			WorkerId:              refused.WorkerId,
			WorkflowId:            refused.WorkflowId,
		}
		p.retries = 0
		if r.metrics != nil && !isFailure(refused.Status) {
			r.metrics.failures.Inc()
		}
		r.enqueueLocked(id)
		r.mu.Unlock()
		r.log.Error("baton: result refused; reporting the task FAILED", "task_id", id,
			"workflow_id", refused.WorkflowId, "code", code, "error", ack.GetMessage(),
			"status", refused.Status.String())
		r.wake()
		return
	}
	if !staleCodes[code] && !invalid && p.retries < maxResultRetries {
		p.retries++
		delay := min(r.w.cfg.backoffMin<<min(p.retries, 16), r.w.cfg.backoffMax)
		token := p.result.Token
		r.mu.Unlock()
		r.log.Warn("baton: result not taken; sending it again", "task_id", id,
			"workflow_id", p.result.WorkflowId, "code", code, "error", ack.GetMessage(),
			"attempt", p.retries, "backoff", delay)
		time.AfterFunc(delay, func() {
			r.mu.Lock()
			if r.pending[id] == p && p.result.Token == token {
				r.enqueueLocked(id)
			}
			r.mu.Unlock()
			r.wake()
		})
		return
	}
	delete(r.pending, id)
	if !p.giveBack {
		r.w.stats.refused.Add(1)
		if r.metrics != nil {
			r.metrics.dropped.Inc()
		}
		if code == "FAILED_PRECONDITION" && p.result.Status != batonv1.TaskStatus_TASK_STATUS_IN_PROGRESS {
			r.rememberRefusedLocked(p.result)
		}
	}
	r.mu.Unlock()
	// A stale result is expected now and then (a task that timed out); losing any other one
	// leaves its task to its response timeout.
	level := slog.LevelError
	if staleCodes[code] || p.giveBack {
		level = slog.LevelWarn
	}
	r.log.Log(context.Background(), level, "baton: result refused; dropping it", "task_id", id,
		"workflow_id", p.result.WorkflowId, "code", code, "error", ack.GetMessage(),
		"status", p.result.Status.String())
	r.wake()
}

func (r *runner) onLeaseAck(ack *batonv1.Ack) {
	r.mu.Lock()
	r.healthy = true
	ex := r.running[ack.GetTaskId()]
	if ex == nil || ex.token != ack.GetToken() || ack.GetOk() {
		r.mu.Unlock()
		return
	}
	code := ack.GetCode()
	if transientCodes[code] {
		r.mu.Unlock()
		r.log.Warn("baton: lease extension not taken; trying again later", "task_id", ack.GetTaskId(),
			"workflow_id", ex.task.WorkflowID, "code", code, "error", ack.GetMessage())
		return
	}
	r.mu.Unlock()
	r.log.Warn("baton: lease lost; cancelling the handler", "task_id", ack.GetTaskId(),
		"workflow_id", ex.task.WorkflowID, "code", code, "error", ack.GetMessage())
	ex.cancel(fmt.Errorf("%w: %s", ErrLeaseLost, ack.GetMessage()))
}
