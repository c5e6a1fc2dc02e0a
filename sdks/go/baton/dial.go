package baton

import (
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// DefaultAddress is the address [Dial] uses when given none and BATON_SERVER is unset: the
// default listen address of `baton server`.
const DefaultAddress = "127.0.0.1:7070"

// Dial opens a gRPC connection to a Baton server, for use by [NewClient] and [NewWorker].
//
// An empty target means the BATON_SERVER environment variable, or [DefaultAddress] when that
// is unset. The connection uses plain text and retries a lost connection quickly (100 ms
// growing to at most 5 s), which suits a worker waiting for a restarting server; opts are
// applied after these defaults, so grpc.WithTransportCredentials and the like override
// them. Like grpc.NewClient, Dial does not wait for the server: the first call does.
// Close the connection when done.
func Dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	if target == "" {
		target = os.Getenv("BATON_SERVER")
	}
	if target == "" {
		target = DefaultAddress
	}
	all := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  100 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   5 * time.Second,
			},
			MinConnectTimeout: 5 * time.Second,
		}),
	}
	all = append(all, opts...)
	return grpc.NewClient(target, all...)
}
