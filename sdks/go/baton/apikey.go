package baton

import (
	"context"
	"os"
	"strings"

	"google.golang.org/grpc"
)

// WithAPIKey returns a dial option that sends key, an API key (bk_{id}_{secret}, from
// `baton auth bootstrap`, `baton auth key create` or [Client.CreateAPIKey]), with every
// call on the connection as the metadata "authorization: Bearer <key>": unary calls and the
// worker's streams, each time one is opened again too. White space around the key is
// ignored.
//
// Given to [Dial] or [DialTLS], it wins over the BATON_API_KEY environment variable, which
// they read only when opts hold no WithAPIKey; an empty key sends no credentials and keeps
// the environment's key out. It also works as an option of grpc.NewClient.
//
// The key travels over plain-text connections too: beyond the loopback interface, use TLS
// (see [DialTLS]) so that nobody on the way can read it. The SDK never logs the key, and the
// option prints without it.
func WithAPIKey(key string) grpc.DialOption {
	key = strings.TrimSpace(key)
	o := &apiKeyOption{DialOption: grpc.EmptyDialOption{}, key: key}
	if key != "" {
		o.DialOption = grpc.WithPerRPCCredentials(apiKeyCredentials{key: key})
	}
	return o
}

// apiKeyOption is the dial option of [WithAPIKey]: it applies the credentials when given to
// grpc.NewClient directly, and tells [DialTLS] that the key was given explicitly.
type apiKeyOption struct {
	grpc.DialOption
	key string
}

// String names the option without its key.
func (o *apiKeyOption) String() string {
	if o.key == "" {
		return "baton.WithAPIKey(none)"
	}
	return "baton.WithAPIKey(<redacted>)"
}

// GoString is String, so that %#v does not show the key either.
func (o *apiKeyOption) GoString() string { return o.String() }

// takeAPIKey removes the [WithAPIKey] options from opts and returns the rest with the key to
// send: that of the last WithAPIKey, or BATON_API_KEY when there is none ("" for no key).
func takeAPIKey(opts []grpc.DialOption) ([]grpc.DialOption, string) {
	explicit := false
	key := ""
	rest := make([]grpc.DialOption, 0, len(opts))
	for _, o := range opts {
		if k, ok := o.(*apiKeyOption); ok {
			explicit, key = true, k.key
			continue
		}
		rest = append(rest, o)
	}
	if !explicit {
		key = strings.TrimSpace(os.Getenv(envAPIKey))
	}
	return rest, key
}

// apiKeyCredentials puts an API key in the metadata of every call.
type apiKeyCredentials struct{ key string }

// GetRequestMetadata returns the authorization metadata.
func (c apiKeyCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + c.key}, nil
}

// RequireTransportSecurity is false: a server on the loopback interface takes keys over
// plain text.
func (c apiKeyCredentials) RequireTransportSecurity() bool { return false }

// String names the credentials without their key.
func (c apiKeyCredentials) String() string { return "baton API key <redacted>" }

// GoString is String, so that %#v does not show the key either.
func (c apiKeyCredentials) GoString() string { return c.String() }
