// Command go_worker serves the Go steps of the cross-language workflow until interrupted.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/baton-run/baton/sdks/go/baton"
)

type step struct {
	Text  string   `json:"text"`
	Trail []string `json:"trail"`
}

type tagIn struct {
	Length int `json:"length"`
}

type tagOut struct {
	Lang string `json:"lang"`
	Seen int    `json:"seen"`
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	conn, err := baton.Dial("")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	w := baton.NewWorker(conn, baton.WithWorkerID("cross-go"))
	w.Handle("xl_go_reverse", baton.Typed(func(ctx context.Context, in step) (step, error) {
		return step{Text: reverse(in.Text), Trail: append(in.Trail, "go")}, nil
	}))
	w.Handle("xl_go_tag", baton.Typed(func(ctx context.Context, in tagIn) (tagOut, error) {
		return tagOut{Lang: "go", Seen: in.Length}, nil
	}))
	log.Println("go worker ready")
	if err := w.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
