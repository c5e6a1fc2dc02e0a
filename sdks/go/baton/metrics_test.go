package baton

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrape reads a Prometheus text exposition and returns each sample's value by its name
// and labels as written ("name{a=\"x\",b=\"y\"}").
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestWorkerMetricsServedOverHTTP(t *testing.T) {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "metered", "retryCount": 0})
	e.registerWorkflow("metered_wf", nil, simpleTask("metered", "m", map[string]any{"fail": "${workflow.input.fail}"}))

	reg := prometheus.NewRegistry()
	env := map[string]string{MetricsPortEnv: "0", MetricsAddrEnv: "127.0.0.1"}
	w := e.newWorker(WithMetrics(reg), WithEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
	w.HandleFunc("metered", func(ctx context.Context, t *Task) (any, error) {
		if t.Input["fail"] == true {
			return nil, errors.New("asked to fail")
		}
		return map[string]any{"padding": strings.Repeat("x", 100)}, nil
	})
	stop := e.run(w)
	eventually(t, 10*time.Second, "the metrics server", func() bool { return w.MetricsAddr() != "" })
	addr := w.MetricsAddr()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("metrics served on %s, want 127.0.0.1 from %s", addr, MetricsAddrEnv)
	}
	url := "http://" + addr + "/metrics"

	var ids []string
	for i := range 5 {
		ids = append(ids, e.start("metered_wf", map[string]any{"fail": i >= 3}))
	}
	for i, id := range ids {
		want := wfCompleted
		if i >= 3 {
			want = wfFailed
		}
		e.expectStatus(e.wait(id, 30*time.Second), want)
	}
	// The last result may be acknowledged, and its workflow finished, a moment before the
	// metrics of its run are all recorded: wait for the count, then check every value.
	var m map[string]float64
	eventually(t, 10*time.Second, "five runs in the histogram", func() bool {
		m = scrape(t, url)
		return m[`baton_worker_task_execution_seconds_count{task_type="metered"}`] == 5
	})
	want := map[string]float64{
		`baton_worker_tasks_received_total{task_type="metered"}`:                                     5,
		`baton_worker_tasks_finished_total{status="COMPLETED",task_type="metered"}`:                  3,
		`baton_worker_tasks_finished_total{status="FAILED",task_type="metered"}`:                     2,
		`baton_worker_tasks_finished_total{status="FAILED_WITH_TERMINAL_ERROR",task_type="metered"}`: 0,
		`baton_worker_task_failures_total{task_type="metered"}`:                                      2,
		`baton_worker_results_dropped_total{task_type="metered"}`:                                    0,
		`baton_worker_tasks_in_flight{task_type="metered"}`:                                          0,
		`baton_worker_stream_reconnects_total{task_type="metered"}`:                                  0,
		`baton_worker_task_result_size_bytes_count{task_type="metered"}`:                             5,
		// Two failed runs have no output (0 bytes); three have about 110 bytes.
		`baton_worker_task_result_size_bytes_bucket{task_type="metered",le="0"}`:   2,
		`baton_worker_task_result_size_bytes_bucket{task_type="metered",le="64"}`:  2,
		`baton_worker_task_result_size_bytes_bucket{task_type="metered",le="256"}`: 5,
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if s := m[`baton_worker_task_execution_seconds_sum{task_type="metered"}`]; s <= 0 || s > 30 {
		t.Errorf("execution seconds sum %v", s)
	}

	// The metrics server stops with the worker.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if w.MetricsAddr() != "" {
		t.Fatal("MetricsAddr still set after Run returned")
	}
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("metrics still served on %s after the worker stopped", addr)
	}
}

func TestWorkerMetricsOptionsAndErrors(t *testing.T) {
	noServer := func(k string) (string, bool) { return "", false }
	// Two workers may share one registry: the second finds the metrics registered.
	reg := prometheus.NewRegistry()
	for i := range 2 {
		c := newWorkerConfig([]WorkerOption{WithEnv(noServer), WithMetrics(reg)})
		m, err := c.resolveMetrics()
		if err != nil || m == nil {
			t.Fatalf("worker %d: %v %v", i, m, err)
		}
		m.forType(fmt.Sprint("t", i)).received.Inc()
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "baton_worker_tasks_received_total" && len(f.GetMetric()) != 2 {
			t.Fatalf("received counter has %d series, want one per worker's task type", len(f.GetMetric()))
		}
	}
	// No option and no environment: no metrics.
	c := newWorkerConfig([]WorkerOption{WithEnv(noServer)})
	if m, err := c.resolveMetrics(); m != nil || err != nil {
		t.Fatalf("metrics without being asked: %v %v", m, err)
	}
	// A bad port in the environment stops Run at once, naming the variable.
	bad := func(k string) (string, bool) {
		if k == MetricsPortEnv {
			return "ninety", true
		}
		return "", false
	}
	w := NewWorker(nil, WithEnv(bad), WithMetrics(prometheus.NewRegistry()))
	w.HandleFunc("x", func(ctx context.Context, t *Task) (any, error) { return nil, nil })
	if err := w.Run(context.Background()); err == nil || !strings.Contains(err.Error(), MetricsPortEnv) {
		t.Fatalf("Run with %s=ninety: %v", MetricsPortEnv, err)
	}
}
