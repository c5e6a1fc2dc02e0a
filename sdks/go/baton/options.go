package baton

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the worker settings.
const (
	// DefaultConcurrency is how many tasks of one type a worker runs at once unless told
	// otherwise.
	DefaultConcurrency = 10
	// DefaultGracePeriod is how long a stopping worker waits for running tasks.
	DefaultGracePeriod = 30 * time.Second
)

// taskSettings is the resolved configuration of one task type on a worker.
type taskSettings struct {
	concurrency    int
	domain         string
	leaseExtension bool
	paused         bool
	batch          bool
}

func defaultTaskSettings() taskSettings {
	return taskSettings{concurrency: DefaultConcurrency, leaseExtension: true, batch: true}
}

// workerConfig is the resolved configuration of a worker.
type workerConfig struct {
	workerID     string
	logger       *slog.Logger
	grace        time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	lookupEnv    func(string) (string, bool)
	taskDefaults []Option
	metricsReg   prometheus.Registerer
	metricsPort  *int
}

// WorkerOption configures a [Worker]; pass it to [NewWorker]. Every [Option] is also a
// WorkerOption, setting the default for all task types.
type WorkerOption interface{ applyWorker(*workerConfig) }

// TaskOption configures one task type of a worker; pass it to [Worker.Handle].
type TaskOption interface{ applyTask(*taskSettings) }

// Option is a setting that applies to one task type when given to [Worker.Handle] and to
// every task type when given to [NewWorker].
//
// Settings are resolved in this order, later ones winning: the built-in default, the
// option given to NewWorker, the option given to Handle, the environment variable for all
// task types (BATON_WORKER_<SETTING>) and the one for the task type
// (BATON_WORKER_<TASKTYPE>_<SETTING>, the task type upper-cased with every character other
// than a letter or digit turned into "_").
type Option func(*taskSettings)

func (o Option) applyWorker(c *workerConfig) { c.taskDefaults = append(c.taskDefaults, o) }
func (o Option) applyTask(s *taskSettings)   { o(s) }

// Concurrency sets how many tasks of a type the worker runs at once (at least 1; default
// [DefaultConcurrency]). The worker's credit on the stream always matches its free slots.
// Environment: BATON_WORKER_CONCURRENCY, BATON_WORKER_<TASKTYPE>_CONCURRENCY.
func Concurrency(n int) Option {
	return func(s *taskSettings) {
		if n >= 1 {
			s.concurrency = n
		}
	}
}

// Domain sets the domain tasks are taken from (empty: the default queue). Environment:
// BATON_WORKER_DOMAIN, BATON_WORKER_<TASKTYPE>_DOMAIN.
func Domain(domain string) Option {
	return func(s *taskSettings) { s.domain = domain }
}

// LeaseExtension switches automatic lease extension on or off (default on). When on, the
// worker extends the lease of a running task at about 80% of its response timeout, so that
// long handlers keep their tasks. When off, the handler's context is cancelled once the
// response timeout has passed, since the server times the task out then. Environment:
// BATON_WORKER_LEASE_EXTENSION, BATON_WORKER_<TASKTYPE>_LEASE_EXTENSION (true or false).
func LeaseExtension(on bool) Option {
	return func(s *taskSettings) { s.leaseExtension = on }
}

// StartPaused makes the task type start paused: the worker takes none of its tasks until
// [Worker.Resume] is called. Environment: BATON_WORKER_PAUSED,
// BATON_WORKER_<TASKTYPE>_PAUSED (true or false).
func StartPaused() Option {
	return func(s *taskSettings) { s.paused = true }
}

// Batching switches batching on the worker's stream on or off (default on). When on, the
// worker subscribes so that the server may send several tasks, and several acknowledgements,
// in one message, and it sends the results ready at the same moment in one message. Nothing
// waits to fill a batch: each message carries whatever is ready when it is written, so
// batching saves per-message work under load and adds no delay. Environment:
// BATON_WORKER_BATCH, BATON_WORKER_<TASKTYPE>_BATCH (true or false).
func Batching(on bool) Option {
	return func(s *taskSettings) { s.batch = on }
}

type workerOptionFunc func(*workerConfig)

func (f workerOptionFunc) applyWorker(c *workerConfig) { f(c) }

// WithWorkerID sets the worker id reported with every task (default: host name and process
// id). Environment: BATON_WORKER_ID overrides it.
func WithWorkerID(id string) WorkerOption {
	return workerOptionFunc(func(c *workerConfig) { c.workerID = id })
}

// WithLogger sets the logger for the worker's own messages (default slog.Default()).
func WithLogger(l *slog.Logger) WorkerOption {
	return workerOptionFunc(func(c *workerConfig) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithGracePeriod sets how long [Worker.Run] waits, once its context is cancelled, for
// running tasks to finish and their results to be acknowledged (default
// [DefaultGracePeriod]). When it runs out, the handlers' contexts are cancelled and Run
// returns.
func WithGracePeriod(d time.Duration) WorkerOption {
	return workerOptionFunc(func(c *workerConfig) {
		if d >= 0 {
			c.grace = d
		}
	})
}

// WithReconnectBackoff sets the delays between attempts to reopen a broken stream: the first
// retry waits about min, each further one twice as long, up to max (defaults 100 ms and
// 5 s). A stream that worked for a while starts again from min.
func WithReconnectBackoff(minDelay, maxDelay time.Duration) WorkerOption {
	return workerOptionFunc(func(c *workerConfig) {
		if minDelay > 0 {
			c.backoffMin = minDelay
		}
		if maxDelay > 0 {
			c.backoffMax = maxDelay
		}
		if c.backoffMax < c.backoffMin {
			c.backoffMax = c.backoffMin
		}
	})
}

// WithEnv sets how the worker reads its environment variables (default os.LookupEnv). Pass
// nil to ignore the environment altogether.
func WithEnv(lookup func(key string) (string, bool)) WorkerOption {
	return workerOptionFunc(func(c *workerConfig) {
		if lookup == nil {
			lookup = func(string) (string, bool) { return "", false }
		}
		c.lookupEnv = lookup
	})
}

func newWorkerConfig(opts []WorkerOption) workerConfig {
	c := workerConfig{
		logger:     slog.Default(),
		grace:      DefaultGracePeriod,
		backoffMin: 100 * time.Millisecond,
		backoffMax: 5 * time.Second,
		lookupEnv:  os.LookupEnv,
	}
	for _, o := range opts {
		if o != nil {
			o.applyWorker(&c)
		}
	}
	if id, ok := c.lookupEnv("BATON_WORKER_ID"); ok && id != "" {
		c.workerID = id
	}
	if c.workerID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "worker"
		}
		c.workerID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	return c
}

// envKey turns a task type into the form used in environment variable names.
func envKey(taskType string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(taskType) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// resolveTaskSettings applies defaults, code options and environment variables in order.
func (c *workerConfig) resolveTaskSettings(taskType string, opts []TaskOption) taskSettings {
	s := defaultTaskSettings()
	for _, o := range c.taskDefaults {
		o(&s)
	}
	for _, o := range opts {
		if o != nil {
			o.applyTask(&s)
		}
	}
	c.applyEnv(&s, "BATON_WORKER_")
	c.applyEnv(&s, "BATON_WORKER_"+envKey(taskType)+"_")
	return s
}

func (c *workerConfig) applyEnv(s *taskSettings, prefix string) {
	if v, ok := c.lookupEnv(prefix + "CONCURRENCY"); ok && v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 1 {
			s.concurrency = n
		} else {
			c.logger.Warn("baton: ignoring invalid environment variable", "name", prefix+"CONCURRENCY", "value", v)
		}
	}
	if v, ok := c.lookupEnv(prefix + "DOMAIN"); ok {
		s.domain = strings.TrimSpace(v)
	}
	if v, ok := c.lookupEnv(prefix + "LEASE_EXTENSION"); ok && v != "" {
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			s.leaseExtension = b
		} else {
			c.logger.Warn("baton: ignoring invalid environment variable", "name", prefix+"LEASE_EXTENSION", "value", v)
		}
	}
	if v, ok := c.lookupEnv(prefix + "BATCH"); ok && v != "" {
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			s.batch = b
		} else {
			c.logger.Warn("baton: ignoring invalid environment variable", "name", prefix+"BATCH", "value", v)
		}
	}
	if v, ok := c.lookupEnv(prefix + "PAUSED"); ok && v != "" {
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			s.paused = b
		} else {
			c.logger.Warn("baton: ignoring invalid environment variable", "name", prefix+"PAUSED", "value", v)
		}
	}
}
