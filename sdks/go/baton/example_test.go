package baton_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/baton-run/baton/sdks/go/baton"
)

// A connection to a server that requires client certificates (`baton server --tls-cert
// server.pem --tls-key server-key.pem --tls-client-ca ca.pem`). A wrong setting, such as a
// missing file, is an error here rather than on the first call.
func ExampleDialTLS() {
	conn, err := baton.DialTLS("https://localhost:7070", baton.TLSConfig{
		CAFile:   "ca.pem",
		CertFile: "client.pem",
		KeyFile:  "client-key.pem",
	})
	var bad *baton.TLSConfigError
	if errors.As(err, &bad) {
		log.Fatalf("TLS settings: %v", bad)
	} else if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	defs, err := baton.NewClient(conn).ListWorkflowDefs(context.Background(), false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(defs), "workflow definitions")
}

// On a server started with --auth, an admin's connection makes a key for a worker, and the
// worker's own connection sends it. Without WithAPIKey, Dial takes the key from
// BATON_API_KEY.
func ExampleWithAPIKey() {
	ctx := context.Background()
	admin, err := baton.Dial("127.0.0.1:7070", baton.WithAPIKey(os.Getenv("BATON_ADMIN_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	defer admin.Close()
	key, err := baton.NewClient(admin).CreateAPIKey(ctx, "billing-worker", baton.RoleWorker)
	switch {
	case baton.IsUnauthenticated(err):
		log.Fatalf("no valid admin key: %v", err)
	case baton.IsPermissionDenied(err):
		log.Fatalf("the key is not an admin's: %v", err)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println("made key", key.ID, "for", key.Name)

	conn, err := baton.Dial("127.0.0.1:7070", baton.WithAPIKey(key.KeyText))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	w := baton.NewWorker(conn, baton.WithWorkerID("billing-1"))
	w.HandleFunc("charge", func(ctx context.Context, t *baton.Task) (any, error) {
		return map[string]any{"charged": true}, nil
	})
	if err := w.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// The refused requests of the last hour, newest first, a page at a time.
func ExampleClient_ListAuditEvents() {
	ctx := context.Background()
	conn, err := baton.Dial("") // BATON_SERVER and an admin's BATON_API_KEY
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := baton.NewClient(conn)

	q := baton.AuditQuery{Outcome: baton.AuditDenied, Since: time.Now().Add(-time.Hour), Limit: 100}
	for {
		page, err := c.ListAuditEvents(ctx, q)
		if err != nil {
			log.Fatal(err)
		}
		for _, ev := range page {
			fmt.Println(ev.Time.Format(time.RFC3339), ev.Actor, ev.Role, ev.Action, ev.Reason)
		}
		if len(page) < q.Limit {
			return
		}
		q.Before = page[len(page)-1].Seq
	}
}

// A worker with a typed handler, stopped gracefully on Ctrl-C.
func ExampleWorker() {
	conn, err := baton.Dial("") // BATON_SERVER, or 127.0.0.1:7070
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	type In struct {
		Text string `json:"text"`
	}
	type Out struct {
		Text string `json:"text"`
	}

	w := baton.NewWorker(conn, baton.WithWorkerID("shouter-1"), baton.WithGracePeriod(time.Minute))
	w.Handle("shout", baton.Typed(func(ctx context.Context, in In) (Out, error) {
		if in.Text == "" {
			return Out{}, baton.TerminalError(errors.New("empty text"))
		}
		baton.TaskFromContext(ctx).Logf("shouting %q", in.Text)
		return Out{Text: strings.ToUpper(in.Text)}, nil
	}), baton.Concurrency(16))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := w.Run(ctx); err != nil {
		log.Print(err)
	}
}

// A handler that waits for something slow without holding a slot: it reports IN_PROGRESS
// and is handed the task again after the callback.
func ExampleInProgress() {
	ready := func(orderID any) bool { return false }

	handler := baton.HandlerFunc(func(ctx context.Context, t *baton.Task) (any, error) {
		if !ready(t.Input["orderId"]) {
			t.Log("payment not settled yet")
			return baton.InProgress(30*time.Second, map[string]any{"checks": t.PollCount}), nil
		}
		return map[string]any{"settled": true}, nil
	})
	_ = handler
}

// Starting a workflow with options and waiting for it.
func ExampleClient_StartWorkflow() {
	conn, err := baton.Dial("")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := baton.NewClient(conn)
	ctx := context.Background()

	id, err := c.StartWorkflow(ctx, "order_flow", map[string]any{"orderId": "o-7"},
		baton.WithCorrelationID("o-7"),
		baton.WithIdempotencyKey("o-7", baton.IdempotencyReturnExisting),
		baton.WithPriority(50))
	if baton.IsNotFound(err) {
		log.Fatal("register order_flow first")
	} else if err != nil {
		log.Fatal(err)
	}
	wf, err := c.WaitForWorkflow(ctx, id, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(wf.Status, wf.Output)
}

// A schedule that starts a workflow every weekday at 09:00 in Paris, previewed, triggered
// once by hand and read back.
func ExampleClient_SaveSchedule() {
	ctx := context.Background()
	conn, err := baton.Dial("")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := baton.NewClient(conn)

	s, err := c.SaveSchedule(ctx, baton.ScheduleDef{
		Name:           "morning_report",
		CronExpression: "0 9 * * MON-FRI",
		ZoneID:         "Europe/Paris",
		StartWorkflowRequest: baton.ScheduleStart{
			Name:  "report",
			Input: map[string]any{"kind": "daily"},
		},
		MisfirePolicy: baton.MisfireRunLatest,
		OverlapPolicy: baton.OverlapSkip,
		// Fields without a typed field go in Extra by their JSON name: here, no run on
		// Monday mornings.
		Extra: map[string]any{"exclusions": []any{map[string]any{"daysOfWeek": []any{"MON"}, "fromTime": "08:00", "toTime": "10:00"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("next run:", s.NextRun)

	preview, err := c.PreviewSchedule(ctx, baton.PreviewRequest{Name: "morning_report", Limit: 5})
	if err != nil {
		log.Fatal(err)
	}
	for _, slot := range preview.Slots {
		fmt.Println(slot.Time.In(time.UTC))
	}

	ids, err := c.TriggerSchedule(ctx, "morning_report", map[string]any{"kind": "adhoc"}, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("started:", ids)

	history, err := c.GetScheduleHistory(ctx, "morning_report", time.Time{}, time.Time{}, 20)
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range history {
		fmt.Println(h.SlotTime, h.Type(), h.Event)
	}
}
