package baton

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

func TestAppendResultsSplitsBatches(t *testing.T) {
	results := func(n int) []*batonv1.TaskResult {
		out := make([]*batonv1.TaskResult, n)
		for i := range out {
			out[i] = &batonv1.TaskResult{TaskId: fmt.Sprint(i)}
		}
		return out
	}
	kinds := func(msgs []*batonv1.WorkRequest) []string {
		var out []string
		for _, m := range msgs {
			if b := m.GetResults(); b != nil {
				out = append(out, fmt.Sprintf("batch:%d", len(b.GetResults())))
			} else if m.GetResult() != nil {
				out = append(out, "single")
			}
		}
		return out
	}
	for _, c := range []struct {
		n     int
		batch bool
		want  string
	}{
		{0, true, "[]"},
		{1, true, "[single]"},
		{2, true, "[batch:2]"},
		{2500, true, "[batch:1000 batch:1000 batch:500]"},
		{3, false, "[single single single]"},
	} {
		got := fmt.Sprint(kinds(appendResults(nil, results(c.n), c.batch)))
		if got != c.want {
			t.Errorf("%d results, batch %v: %s, want %s", c.n, c.batch, got, c.want)
		}
	}
	// Every result goes out once, in order.
	msgs := appendResults(nil, results(2500), true)
	next := 0
	for _, m := range msgs {
		for _, r := range m.GetResults().GetResults() {
			if r.TaskId != fmt.Sprint(next) {
				t.Fatalf("result %s where %d was expected", r.TaskId, next)
			}
			next++
		}
	}
	if next != 2500 {
		t.Fatalf("%d results sent, want 2500", next)
	}
}

func TestAppendResultsKeepsBatchesUnderTheByteLimit(t *testing.T) {
	big := func(id string, n int) *batonv1.TaskResult {
		return &batonv1.TaskResult{TaskId: id, ReasonForIncompletion: strings.Repeat("x", n)}
	}
	// Eight results of 300 KB finishing together: three fit under 1 MiB, four do not.
	var results []*batonv1.TaskResult
	for i := range 8 {
		results = append(results, big(fmt.Sprint(i), 300_000))
	}
	var sizes []string
	for _, m := range appendResults(nil, results, true) {
		if b := m.GetResults(); b != nil {
			if n := proto.Size(b); n > maxResultBatchBytes {
				t.Errorf("a batch of %d bytes", n)
			}
			sizes = append(sizes, fmt.Sprintf("batch:%d", len(b.GetResults())))
		} else {
			sizes = append(sizes, "single")
		}
	}
	if got := fmt.Sprint(sizes); got != "[batch:3 batch:3 batch:2]" {
		t.Errorf("messages %s", got)
	}
	// A result over the limit on its own goes alone, after the small ones before it.
	mixed := []*batonv1.TaskResult{big("a", 10), big("b", 10), big("c", 2_000_000), big("d", 10)}
	var kinds []string
	for _, m := range appendResults(nil, mixed, true) {
		if b := m.GetResults(); b != nil {
			kinds = append(kinds, fmt.Sprintf("batch:%d", len(b.GetResults())))
		} else {
			kinds = append(kinds, "single:"+m.GetResult().GetTaskId())
		}
	}
	if got := fmt.Sprint(kinds); got != "[batch:2 single:c single:d]" {
		t.Errorf("messages %s", got)
	}
}

// runMany starts n one-task workflows, then a worker with the given options, and checks
// that every workflow completes with its own output and every result is acknowledged once.
func runMany(t *testing.T, n, slots int, opts ...WorkerOption) Stats {
	e := newEnv(t)
	e.registerTaskDef(map[string]any{"name": "echo", "retryCount": 0})
	e.registerWorkflow("echo_wf", map[string]any{"i": "${e.output.i}"},
		simpleTask("echo", "e", map[string]any{"i": "${workflow.input.i}"}))
	ids := make([]string, n)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				id, err := e.client.StartWorkflow(e.ctx(10*time.Second), "echo_wf", map[string]any{"i": i})
				if err != nil {
					t.Errorf("start %d: %v", i, err)
					return
				}
				ids[i] = id
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// The first handler calls wait until every slot is busy and then return together, so
	// that several results are ready at the same moment.
	var calls atomic.Int64
	gate := make(chan struct{})
	w := e.newWorker(opts...)
	var acked sync.Map
	var ackedOK, ackedTwice atomic.Int64
	w.hookAck = func(taskID, token string, ok bool, code string) {
		if !ok {
			t.Errorf("result of %s refused: %s", taskID, code)
			return
		}
		if _, dup := acked.LoadOrStore(taskID, true); dup {
			ackedTwice.Add(1)
		}
		ackedOK.Add(1)
	}
	w.HandleFunc("echo", func(ctx context.Context, task *Task) (any, error) {
		c := calls.Add(1)
		if c == int64(slots) {
			close(gate)
		}
		if c <= int64(slots) {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return map[string]any{"i": task.Input["i"]}, nil
	}, Concurrency(slots))
	stop := e.run(w)
	eventually(t, 60*time.Second, "every result acknowledged", func() bool { return w.Stats().Completed >= int64(n) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		wf, err := e.client.GetWorkflow(e.ctx(10*time.Second), id, false)
		if err != nil {
			t.Fatal(err)
		}
		e.expectStatus(wf, wfCompleted)
		if got := fmt.Sprint(wf.Output["i"]); got != fmt.Sprint(i) {
			t.Fatalf("workflow %d has output %v", i, wf.Output)
		}
	}
	s := w.Stats()
	if s.Completed != int64(n) || s.Refused != 0 || s.Started != int64(n) || ackedOK.Load() != int64(n) || ackedTwice.Load() != 0 {
		t.Fatalf("stats %+v, %d acknowledgements (%d twice), want %d each", s, ackedOK.Load(), ackedTwice.Load(), n)
	}
	return s
}

func TestBatchingCompletesManyWorkflows(t *testing.T) {
	s := runMany(t, 400, 32)
	if s.TaskBatches == 0 || s.ResultBatches == 0 || s.AckBatches == 0 {
		t.Fatalf("no batches: %d task batches, %d result batches, %d ack batches", s.TaskBatches, s.ResultBatches, s.AckBatches)
	}
	t.Logf("%d task batches, %d result batches, %d ack batches", s.TaskBatches, s.ResultBatches, s.AckBatches)
}

func TestBatchingSwitchedOffByEnvironment(t *testing.T) {
	env := map[string]string{"BATON_WORKER_BATCH": "false"}
	s := runMany(t, 200, 32, WithEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
	if s.TaskBatches != 0 || s.ResultBatches != 0 || s.AckBatches != 0 {
		t.Fatalf("batches with batching off: %d task batches, %d result batches, %d ack batches", s.TaskBatches, s.ResultBatches, s.AckBatches)
	}
}
