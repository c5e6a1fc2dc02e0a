// Command shout-worker is an example Baton worker written with the Go SDK.
//
// It registers the task definition `shout` and the workflow `shout_workflow` (one `shout`
// task whose output becomes the workflow's output), then serves `shout` tasks: it upper-cases
// the input text. It runs until interrupted, then finishes the tasks it holds.
//
//	go run .                   # serve shout tasks until Ctrl-C
//	go run . -say "hello"      # also run one workflow, print its output and exit
//
// The server address comes from -server, else BATON_SERVER, else 127.0.0.1:7070.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/baton-run/baton/sdks/go/baton"
)

// ShoutInput is the input of a shout task.
type ShoutInput struct {
	Text string `json:"text"`
}

// ShoutOutput is the output of a shout task.
type ShoutOutput struct {
	Text string `json:"text"`
}

// Shout upper-cases the text it is given.
func Shout(ctx context.Context, in ShoutInput) (ShoutOutput, error) {
	if in.Text == "" {
		return ShoutOutput{}, baton.TerminalError(errors.New("nothing to shout: input text is empty"))
	}
	baton.TaskFromContext(ctx).Logf("shouting %q", in.Text)
	return ShoutOutput{Text: strings.ToUpper(in.Text)}, nil
}

const workflowDef = `{
  "name": "shout_workflow",
  "description": "Upper-cases workflow.input.text with a Go worker",
  "version": 1,
  "schemaVersion": 2,
  "tasks": [
    {
      "name": "shout",
      "taskReferenceName": "shout_ref",
      "type": "SIMPLE",
      "inputParameters": {"text": "${workflow.input.text}"}
    }
  ],
  "outputParameters": {"shouted": "${shout_ref.output.text}"}
}`

func main() {
	server := flag.String("server", "", "server address (default BATON_SERVER or 127.0.0.1:7070)")
	say := flag.String("say", "", "run one shout_workflow with this text, print its output and exit")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *server, *say); err != nil {
		fmt.Fprintln(os.Stderr, "shout-worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server, say string) error {
	conn, err := baton.Dial(server)
	if err != nil {
		return err
	}
	defer conn.Close()

	client := baton.NewClient(conn)
	setupCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := client.RegisterTaskDefs(setupCtx, map[string]any{
		"name": "shout", "retryCount": 2, "retryDelaySeconds": 1, "responseTimeoutSeconds": 30,
	}); err != nil {
		return fmt.Errorf("register task definition: %w", err)
	}
	if _, err := client.UpdateWorkflowDefs(setupCtx, workflowDef); err != nil {
		return fmt.Errorf("register workflow definition: %w", err)
	}

	level := slog.LevelInfo
	if say != "" {
		level = slog.LevelWarn // keep the one-shot run's output to its result
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	w := baton.NewWorker(conn, baton.WithLogger(logger))
	w.Handle("shout", baton.Typed(Shout), baton.Concurrency(4))

	if say == "" {
		logger.Info("serving shout tasks; Ctrl-C to stop", "worker_id", w.ID())
		return w.Run(ctx)
	}

	workerCtx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(workerCtx) }()
	wf, finished, err := client.ExecuteWorkflow(ctx, "shout_workflow", map[string]any{"text": say}, 30*time.Second)
	stopWorker()
	if werr := <-done; werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	if !finished {
		return fmt.Errorf("workflow %s still %v after 30 s", wf.ID, wf.Status)
	}
	fmt.Printf("workflow %s %v: %v\n", wf.ID, wf.Status, wf.Output)
	return nil
}
