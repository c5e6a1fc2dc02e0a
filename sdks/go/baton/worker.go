package baton

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

// ErrGracePeriodExpired is returned by [Worker.Run] when tasks were still running, or
// results still unacknowledged, when the grace period after cancellation ran out. It is
// also the context cause the abandoned handlers see.
var ErrGracePeriodExpired = errors.New("baton: shutdown grace period expired")

// ErrLeaseLost is the context cause a handler sees when the server refused to extend the
// lease of its task (the task was timed out or handed to another worker meanwhile).
var ErrLeaseLost = errors.New("baton: task lease lost")

// ErrLeaseExpired is the context cause a handler sees when lease extension is off and the
// task's response timeout has passed.
var ErrLeaseExpired = errors.New("baton: task lease expired")

// Worker runs task handlers against a Baton server.
//
// Register handlers with [Worker.Handle] and then call [Worker.Run]. For each task type the
// worker keeps one stream open to the server, with credit equal to the free slots of that
// type (see [Concurrency]); each task runs in its own goroutine. The zero value is not
// usable: make Workers with [NewWorker].
type Worker struct {
	tasks batonv1.TaskServiceClient
	conn  grpc.ClientConnInterface
	cfg   workerConfig
	log   *slog.Logger
	stats workerStats

	mu      sync.Mutex
	runners map[string]*runner
	order   []*runner
	started bool
	// metricsAddr is where the metrics are served while Run runs (nil otherwise).
	metricsAddr net.Addr

	// Set when Run starts; handlers' contexts derive from it.
	base context.Context

	// Test hooks; nil in normal use.
	hookStart func(taskID, token string)
	hookAck   func(taskID, token string, ok bool, code string)
}

// NewWorker makes a worker that talks to the server over conn (see [Dial]).
func NewWorker(conn grpc.ClientConnInterface, opts ...WorkerOption) *Worker {
	cfg := newWorkerConfig(opts)
	return &Worker{
		tasks:   batonv1.NewTaskServiceClient(conn),
		conn:    conn,
		cfg:     cfg,
		log:     cfg.logger.With("worker_id", cfg.workerID),
		runners: map[string]*runner{},
	}
}

// ID returns the worker id reported with every task.
func (w *Worker) ID() string { return w.cfg.workerID }

// Handle registers the handler for a task type (a task definition name), with options for
// that type only. It panics if the type is empty or already registered, if h is nil, or if
// Run has been called.
func (w *Worker) Handle(taskType string, h Handler, opts ...TaskOption) {
	if taskType == "" {
		panic("baton: Handle with an empty task type")
	}
	if h == nil {
		panic("baton: Handle with a nil handler for " + taskType)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		panic("baton: Handle called after Run")
	}
	if _, dup := w.runners[taskType]; dup {
		panic("baton: task type registered twice: " + taskType)
	}
	settings := w.cfg.resolveTaskSettings(taskType, opts)
	r := &runner{
		w:        w,
		taskType: taskType,
		settings: settings,
		handler:  h,
		log:      w.log.With("task_type", taskType),
		notify:   make(chan struct{}, 1),
		paused:   settings.paused,
		running:  map[string]*execution{},
		pending:  map[string]*pendingResult{},

		maxMessage: defaultMaxMessageBytes,
	}
	w.runners[taskType] = r
	w.order = append(w.order, r)
}

// HandleFunc registers a function as the handler for a task type; see [Worker.Handle].
func (w *Worker) HandleFunc(taskType string, f func(ctx context.Context, t *Task) (any, error), opts ...TaskOption) {
	if f == nil {
		panic("baton: HandleFunc with a nil function for " + taskType)
	}
	w.Handle(taskType, HandlerFunc(f), opts...)
}

// TaskTypes returns the registered task types in registration order.
func (w *Worker) TaskTypes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	types := make([]string, len(w.order))
	for i, r := range w.order {
		types[i] = r.taskType
	}
	return types
}

// Pause stops taking new tasks of the given types (of every type when none is given).
// Tasks already running finish normally; tasks the server pushes while paused (within
// credit given earlier) are handed back unrun, and the server offers them again after one
// second, to any worker.
func (w *Worker) Pause(taskTypes ...string) {
	for _, r := range w.selectRunners(taskTypes) {
		r.setPaused(true)
	}
}

// Resume takes tasks of the given types again (of every type when none is given).
func (w *Worker) Resume(taskTypes ...string) {
	for _, r := range w.selectRunners(taskTypes) {
		r.setPaused(false)
	}
}

// Paused reports whether a task type is paused.
func (w *Worker) Paused(taskType string) bool {
	w.mu.Lock()
	r := w.runners[taskType]
	w.mu.Unlock()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paused
}

func (w *Worker) selectRunners(taskTypes []string) []*runner {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(taskTypes) == 0 {
		return append([]*runner(nil), w.order...)
	}
	var out []*runner
	for _, t := range taskTypes {
		if r := w.runners[t]; r != nil {
			out = append(out, r)
		}
	}
	return out
}

// Run runs the worker until ctx is cancelled, then shuts down gracefully: it takes no new
// tasks, lets running ones finish and waits for their results to be acknowledged, within
// the grace period (see [WithGracePeriod]). It returns nil after a complete drain, and
// [ErrGracePeriodExpired] when the grace period ran out first (the handlers still running
// then see their contexts cancelled with that cause).
//
// Run keeps working while the server is unreachable, reconnecting with backoff; it does
// not return on connection errors. It returns an error at once if no handler is
// registered or Run was called before.
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("baton: Worker.Run called twice")
	}
	if len(w.order) == 0 {
		w.mu.Unlock()
		return errors.New("baton: Worker.Run with no handler registered")
	}
	metrics, err := w.cfg.resolveMetrics()
	if err != nil {
		w.mu.Unlock()
		return err
	}
	server, err := w.cfg.startMetricsServer()
	if err != nil {
		w.mu.Unlock()
		return err
	}
	if server != nil {
		w.metricsAddr = server.addr
		w.log.Info("baton: serving worker metrics", "address", server.addr.String())
		defer func() {
			server.stop()
			w.mu.Lock()
			w.metricsAddr = nil
			w.mu.Unlock()
		}()
	}
	w.started = true
	runners := append([]*runner(nil), w.order...)
	for _, r := range runners {
		r.metrics = metrics.forType(r.taskType)
	}
	base, abandon := context.WithCancelCause(context.WithoutCancel(ctx))
	w.base = base
	w.mu.Unlock()
	defer abandon(context.Canceled)

	for _, r := range runners {
		r.stop = make(chan struct{})
		s := r.settings
		r.log.Info("baton: worker starting", "concurrency", s.concurrency, "domain", s.domain,
			"lease_extension", s.leaseExtension, "paused", s.paused, "batch", s.batch)
	}

	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop()
		}()
	}
	allDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(allDone)
	}()

	select {
	case <-allDone:
		// Only abandonment ends the runners before ctx is done; it cannot happen here.
		return nil
	case <-ctx.Done():
	}
	running := 0
	for _, r := range runners {
		running += r.beginDrain()
	}
	w.log.Info("baton: worker draining", "grace_period", w.cfg.grace, "running", running)
	drainStart := time.Now()
	grace := time.NewTimer(w.cfg.grace)
	defer grace.Stop()
	select {
	case <-allDone:
		w.log.Info("baton: worker stopped", "drained_in", time.Since(drainStart))
		return nil
	case <-grace.C:
	}
	abandon(ErrGracePeriodExpired)
	var left []string
	for _, r := range runners {
		if n, p := r.abandonNow(); n > 0 || p > 0 {
			left = append(left, fmt.Sprintf("%s: %d running, %d unacknowledged", r.taskType, n, p))
		}
	}
	<-allDone
	w.log.Warn("baton: worker stopped before its tasks finished", "left", left)
	return fmt.Errorf("%w (%v)", ErrGracePeriodExpired, left)
}

// MetricsAddr returns the address the worker serves its metrics on while Run runs (see
// [WithMetricsPort]), or "" when it serves none.
func (w *Worker) MetricsAddr() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.metricsAddr == nil {
		return ""
	}
	return w.metricsAddr.String()
}

// Stats is a snapshot of a worker's counters since it was made.
type Stats struct {
	// Received counts tasks pushed by the server.
	Received int64
	// Started counts handler calls.
	Started int64
	// Completed counts results acknowledged as taken (any status, including IN_PROGRESS).
	Completed int64
	// Refused counts results the server refused for good (stale token, unknown task, a
	// FAILED result refused as invalid, retries used up).
	Refused int64
	// TooLarge counts results not sent because the message carrying one would have been
	// larger than the server reads (its baton-max-message-bytes header); each was reported
	// as FAILED instead, with a reason naming the size and the limit.
	TooLarge int64
	// GivenBack counts tasks handed back unrun because their type was paused or the worker
	// was stopping.
	GivenBack int64
	// LeaseExtensions counts lease extensions sent.
	LeaseExtensions int64
	// Reconnects counts streams opened after the first one of each task type.
	Reconnects int64
	// Resent counts results sent again on a new stream because the old one broke before
	// they were acknowledged.
	Resent int64
	// Running is the number of handlers running now.
	Running int64
	// TaskBatches and AckBatches count messages from the server carrying several tasks or
	// several result acknowledgements (see [Batching]).
	TaskBatches, AckBatches int64
	// ResultBatches counts messages sent carrying several results.
	ResultBatches int64
}

type workerStats struct {
	received, started, completed, refused, tooLarge, givenBack, leases, reconnects, resent, running atomic.Int64
	taskBatches, ackBatches, resultBatches                                                          atomic.Int64
}

// Stats returns the worker's counters.
func (w *Worker) Stats() Stats {
	s := &w.stats
	return Stats{
		Received:        s.received.Load(),
		Started:         s.started.Load(),
		Completed:       s.completed.Load(),
		Refused:         s.refused.Load(),
		TooLarge:        s.tooLarge.Load(),
		GivenBack:       s.givenBack.Load(),
		LeaseExtensions: s.leases.Load(),
		Reconnects:      s.reconnects.Load(),
		Resent:          s.resent.Load(),
		Running:         s.running.Load(),
		TaskBatches:     s.taskBatches.Load(),
		AckBatches:      s.ackBatches.Load(),
		ResultBatches:   s.resultBatches.Load(),
	}
}
