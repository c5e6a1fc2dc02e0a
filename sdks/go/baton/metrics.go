package baton

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Environment variables of the worker metrics (the same in every Baton SDK).
const (
	// MetricsPortEnv serves the worker metrics over HTTP on this port when the code sets
	// none (0: any free port).
	MetricsPortEnv = "BATON_WORKER_METRICS_PORT"
	// MetricsAddrEnv is the address the metrics server listens on (default all interfaces).
	MetricsAddrEnv = "BATON_WORKER_METRICS_ADDR"
)

// ExecutionBuckets are the histogram buckets of baton_worker_task_execution_seconds.
var ExecutionBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

// SizeBuckets are the histogram buckets of baton_worker_task_result_size_bytes.
var SizeBuckets = []float64{0, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304}

// workerMetrics are the Prometheus metrics of a worker. The names, labels and buckets are
// those of every Baton SDK, so that one dashboard serves workers in any language. Every
// metric has a task_type label:
//
//   - baton_worker_tasks_received_total (counter): tasks the server pushed and the worker started.
//   - baton_worker_tasks_finished_total (counter, also labelled status): handler runs by the
//     status they ended with (COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR, IN_PROGRESS).
//   - baton_worker_task_failures_total (counter): handler runs that ended FAILED or
//     FAILED_WITH_TERMINAL_ERROR.
//   - baton_worker_results_dropped_total (counter): results the server refused for good.
//   - baton_worker_task_execution_seconds (histogram): how long handlers ran.
//   - baton_worker_task_result_size_bytes (histogram): size of each serialized output.
//   - baton_worker_tasks_in_flight (gauge): handler runs going on now.
//   - baton_worker_stream_reconnects_total (counter): streams opened again after the first.
type workerMetrics struct {
	received, finished, failures, dropped, reconnects *prometheus.CounterVec
	execution, resultSize                             *prometheus.HistogramVec
	inFlight                                          *prometheus.GaugeVec
}

// register registers c in reg, or returns the collector of the same description already
// registered there (several workers of one process may share a registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func newWorkerMetrics(reg prometheus.Registerer) (*workerMetrics, error) {
	counter := func(name, help string, labels ...string) (*prometheus.CounterVec, error) {
		return register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
	}
	m := &workerMetrics{}
	var errs [8]error
	m.received, errs[0] = counter("baton_worker_tasks_received_total",
		"Tasks the server pushed to this worker and the worker started.", "task_type")
	m.finished, errs[1] = counter("baton_worker_tasks_finished_total",
		"Handler runs by the status they ended with.", "task_type", "status")
	m.failures, errs[2] = counter("baton_worker_task_failures_total",
		"Handler runs that ended FAILED or FAILED_WITH_TERMINAL_ERROR.", "task_type")
	m.dropped, errs[3] = counter("baton_worker_results_dropped_total",
		"Results the server refused for good.", "task_type")
	m.reconnects, errs[4] = counter("baton_worker_stream_reconnects_total",
		"Worker streams opened again after the first.", "task_type")
	m.execution, errs[5] = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "baton_worker_task_execution_seconds", Help: "How long task handlers ran, in seconds.",
		Buckets: ExecutionBuckets,
	}, []string{"task_type"}))
	m.resultSize, errs[6] = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "baton_worker_task_result_size_bytes", Help: "Size of the serialized output of each handler run, in bytes.",
		Buckets: SizeBuckets,
	}, []string{"task_type"}))
	m.inFlight, errs[7] = register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "baton_worker_tasks_in_flight", Help: "Handler runs going on now.",
	}, []string{"task_type"}))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("baton: registering the worker metrics: %w", err)
	}
	return m, nil
}

// typeMetrics are one task type's metrics, with the label bound once.
type typeMetrics struct {
	received, failures, dropped, reconnects prometheus.Counter
	execution, resultSize                   prometheus.Observer
	inFlight                                prometheus.Gauge
	finished                                *prometheus.CounterVec
	taskType                                string
}

func (m *workerMetrics) forType(taskType string) *typeMetrics {
	if m == nil {
		return nil
	}
	t := &typeMetrics{
		received:   m.received.WithLabelValues(taskType),
		failures:   m.failures.WithLabelValues(taskType),
		dropped:    m.dropped.WithLabelValues(taskType),
		reconnects: m.reconnects.WithLabelValues(taskType),
		execution:  m.execution.WithLabelValues(taskType),
		resultSize: m.resultSize.WithLabelValues(taskType),
		inFlight:   m.inFlight.WithLabelValues(taskType),
		finished:   m.finished,
		taskType:   taskType,
	}
	// The usual statuses are present from the start, at zero.
	for _, s := range []string{"COMPLETED", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "IN_PROGRESS"} {
		m.finished.WithLabelValues(taskType, s)
	}
	return t
}

// finish records the end of one handler run.
func (t *typeMetrics) finish(status string, elapsed time.Duration, resultBytes int) {
	t.finished.WithLabelValues(t.taskType, status).Inc()
	if status == "FAILED" || status == "FAILED_WITH_TERMINAL_ERROR" {
		t.failures.Inc()
	}
	t.execution.Observe(elapsed.Seconds())
	t.resultSize.Observe(float64(resultBytes))
	t.inFlight.Dec()
}

// WithMetrics records the worker's Prometheus metrics in reg (nil:
// prometheus.DefaultRegisterer). Several workers may share one registry: they share its
// metrics, which are labelled by task type. See [WithMetricsPort] to serve them over HTTP.
func WithMetrics(reg prometheus.Registerer) WorkerOption {
	return workerOptionFunc(func(c *workerConfig) {
		if reg == nil {
			reg = prometheus.DefaultRegisterer
		}
		c.metricsReg = reg
	})
}

// WithMetricsPort serves the worker's metrics over HTTP, at /metrics on this port (0: any
// free port, see [Worker.MetricsAddr]), from the time Run starts until it returns. The
// registry served is the one given to [WithMetrics] when it is also a
// prometheus.Gatherer (a *prometheus.Registry is), and otherwise the default registry. It
// listens on all interfaces unless BATON_WORKER_METRICS_ADDR names an address. When no
// port is set in code, BATON_WORKER_METRICS_PORT does the same.
func WithMetricsPort(port int) WorkerOption {
	return workerOptionFunc(func(c *workerConfig) {
		if port >= 0 {
			c.metricsPort = &port
		}
	})
}

// resolveMetrics decides the worker's metrics from its options and environment.
func (c *workerConfig) resolveMetrics() (*workerMetrics, error) {
	if c.metricsPort == nil {
		if v, ok := c.lookupEnv(MetricsPortEnv); ok && strings.TrimSpace(v) != "" {
			port, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || port < 0 || port > 65535 {
				return nil, fmt.Errorf("baton: %s=%q is not a port number", MetricsPortEnv, v)
			}
			c.metricsPort = &port
		}
	}
	if c.metricsReg == nil && c.metricsPort != nil {
		c.metricsReg = prometheus.DefaultRegisterer
	}
	if c.metricsReg == nil {
		return nil, nil
	}
	return newWorkerMetrics(c.metricsReg)
}

// metricsServer serves a registry over HTTP while a worker runs.
type metricsServer struct {
	srv  *http.Server
	addr net.Addr
	done chan struct{}
}

func (c *workerConfig) startMetricsServer() (*metricsServer, error) {
	if c.metricsPort == nil {
		return nil, nil
	}
	host := ""
	if v, ok := c.lookupEnv(MetricsAddrEnv); ok {
		host = strings.TrimSpace(v)
	}
	gatherer := prometheus.DefaultGatherer
	if g, ok := c.metricsReg.(prometheus.Gatherer); ok {
		gatherer = g
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(*c.metricsPort)))
	if err != nil {
		return nil, fmt.Errorf("baton: serving the worker metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	s := &metricsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		addr: l.Addr(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(l)
	}()
	return s, nil
}

func (s *metricsServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}
