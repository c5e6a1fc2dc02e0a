// Command bench measures how many trivial tasks one Go worker process completes per second
// against a real `baton server`.
//
// It registers a task definition and a workflow of one SIMPLE task, starts -workflows
// executions through the client (from -starters goroutines), and runs a worker with
// -concurrency slots whose handler returns its input. The figure is completions per second
// counted at the worker: results acknowledged by the server, from the first task received
// to the last result acknowledged.
//
// By default it starts its own server (BATON_BIN or target/release/baton) on a temporary
// data directory; -server uses a running one instead. With -prefill (the default) all
// executions are started before the worker runs, so the worker alone sets the pace; with
// -prefill=false they are started while the worker runs.
//
//	go run ./bench -workflows 20000 -concurrency 128
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/baton-run/baton/sdks/go/baton"
	"github.com/baton-run/baton/sdks/go/internal/batontest"
)

func main() {
	server := flag.String("server", "", "address of a running server (default: start one)")
	workflows := flag.Int("workflows", 20000, "workflow executions (one task each) to run")
	concurrency := flag.Int("concurrency", 128, "worker slots for the task type")
	starters := flag.Int("starters", 64, "goroutines starting executions")
	prefill := flag.Bool("prefill", true, "start every execution before the worker runs")
	verbose := flag.Bool("v", false, "log the worker's messages")
	flag.Parse()
	if err := run(*server, *workflows, *concurrency, *starters, *prefill, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(addr string, workflows, concurrency, starters int, prefill, verbose bool) error {
	if addr == "" {
		bin, err := batontest.FindBinary()
		if err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "baton-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		srv, err := batontest.Start(bin, dir, "127.0.0.1:0", nil)
		if err != nil {
			return err
		}
		defer srv.Stop()
		addr = srv.Addr
		fmt.Printf("server: %s (data dir %s)\n", bin, dir)
	}
	conn, err := baton.Dial(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	client := baton.NewClient(conn)
	ctx := context.Background()

	if _, err := client.RegisterTaskDefs(ctx, map[string]any{"name": "bench_echo", "retryCount": 0}); err != nil {
		return fmt.Errorf("register task def: %w", err)
	}
	def := map[string]any{
		"name": "bench_one_task", "version": 1, "schemaVersion": 2,
		"tasks": []any{map[string]any{
			"name": "bench_echo", "taskReferenceName": "echo", "type": "SIMPLE",
			"inputParameters": map[string]any{"i": "${workflow.input.i}"},
		}},
		"outputParameters": map[string]any{"i": "${echo.output.i}"},
	}
	if _, err := client.UpdateWorkflowDefs(ctx, def); err != nil {
		return fmt.Errorf("register workflow def: %w", err)
	}

	startAll := func() (time.Duration, error) {
		began := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, starters)
		for range starters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(workflows) {
						return
					}
					if _, err := client.StartWorkflow(ctx, "bench_one_task", map[string]any{"i": i}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return time.Since(began), <-errs
	}

	if prefill {
		d, err := startAll()
		if err != nil {
			return fmt.Errorf("start workflows: %w", err)
		}
		fmt.Printf("started %d workflows in %v (%.0f starts/s)\n", workflows, d.Round(time.Millisecond),
			float64(workflows)/d.Seconds())
	}

	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	w := baton.NewWorker(conn, baton.WithLogger(logger), baton.WithWorkerID("bench"), baton.WithEnv(nil))
	var first atomic.Int64
	w.HandleFunc("bench_echo", func(ctx context.Context, t *baton.Task) (any, error) {
		if first.Load() == 0 {
			first.CompareAndSwap(0, time.Now().UnixNano())
		}
		return t.Input, nil
	}, baton.Concurrency(concurrency))
	cpuBefore, began := processCPU(), time.Now()
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()

	if !prefill {
		go func() {
			d, err := startAll()
			if err != nil {
				fmt.Fprintln(os.Stderr, "start workflows:", err)
				return
			}
			fmt.Printf("started %d workflows in %v (%.0f starts/s)\n", workflows, d.Round(time.Millisecond),
				float64(workflows)/d.Seconds())
		}()
	}

	deadline := time.Now().Add(10 * time.Minute)
	for w.Stats().Completed < int64(workflows) {
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("only %d of %d tasks completed in 10 minutes", w.Stats().Completed, workflows)
		}
		time.Sleep(2 * time.Millisecond)
	}
	end := time.Now()
	cpu := processCPU() - cpuBefore
	stop()
	if err := <-done; err != nil {
		return err
	}
	elapsed := end.Sub(time.Unix(0, first.Load()))
	s := w.Stats()
	fmt.Printf("worker: %d tasks completed in %v with %d slots: %.0f tasks/s (received %d, refused %d)\n",
		s.Completed, elapsed.Round(time.Millisecond), concurrency, float64(s.Completed)/elapsed.Seconds(),
		s.Received, s.Refused)
	// The process CPU while the worker ran (the client goroutines are idle then with -prefill).
	fmt.Printf("batches: %d of tasks, %d of acks, %d of results received/sent\n", s.TaskBatches, s.AckBatches, s.ResultBatches)
	fmt.Printf("worker CPU: %v, %.1f µs/task, %.0f%% of a core\n", cpu.Round(time.Millisecond),
		float64(cpu.Microseconds())/float64(s.Completed), 100*cpu.Seconds()/end.Sub(began).Seconds())
	return nil
}

// processCPU returns the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
