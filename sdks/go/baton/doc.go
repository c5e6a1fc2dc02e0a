// Package baton is the Go SDK for Baton, a workflow orchestration engine that runs
// workflows written in Conductor's JSON DSL.
//
// The package has two halves:
//
//   - [Worker] runs task handlers. It keeps one gRPC stream per task type open to the
//     server, takes the tasks the server pushes within the worker's free slots, runs each in
//     its own goroutine and reports the result. It reconnects with backoff when the server
//     goes away, re-sends results that were not yet acknowledged, extends leases of long
//     tasks, and drains gracefully when its context is cancelled. Tasks, acknowledgements
//     and results travel in batches when several are ready at once ([Batching]); the
//     worker records Prometheus metrics ([WithMetrics], [WithMetricsPort]) and logs
//     through log/slog with key-value attributes ([WithLogger]).
//   - [Client] calls every RPC of the server's services: it registers workflow and task
//     definitions and event handlers, starts, inspects, searches and steers workflow
//     executions (and waits on them: [Client.WaitWorkflow]), signals WAIT and HUMAN tasks ([Client.UpdateTaskByRef]), polls tasks,
//     reads queues, workers and the monitoring overview, saves, previews and steers
//     schedules ([Client.SaveSchedule]), and manages API keys and reads the audit log
//     ([Client.CreateAPIKey], [Client.ListAuditEvents]). It returns the package's own types
//     ([Workflow], [TaskInstance], [WorkflowStatus], ...), with JSON data as map[string]any.
//
// Both take a gRPC connection, which [Dial] opens with settings suited to Baton (fast
// reconnects; plain text by default, TLS for an https:// address or when a CA file or client
// certificate is set). [DialTLS] takes the certificate files of a [TLSConfig], for servers
// with TLS or mutual TLS. On a server that requires credentials (`baton server --auth`),
// every call and stream of the connection carries the API key of [WithAPIKey] or of the
// BATON_API_KEY environment variable; refusals are told apart with [IsUnauthenticated] and
// [IsPermissionDenied]. Nothing in the package keeps global state: every setting travels
// through options, and environment variables are read only where the documentation says so.
//
// A minimal worker:
//
//	conn, err := baton.Dial("") // BATON_SERVER, or 127.0.0.1:7070
//	if err != nil {
//		return err
//	}
//	defer conn.Close()
//
//	w := baton.NewWorker(conn, baton.WithWorkerID("shouter-1"))
//	w.Handle("shout", baton.Typed(func(ctx context.Context, in struct{ Text string }) (map[string]any, error) {
//		return map[string]any{"text": strings.ToUpper(in.Text)}, nil
//	}))
//	return w.Run(ctx) // returns after ctx is cancelled and in-flight tasks finished
package baton
