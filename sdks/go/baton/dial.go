package baton

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// DefaultAddress is the address [Dial] uses when given none and BATON_SERVER is unset: the
// default listen address of `baton server`.
const DefaultAddress = "127.0.0.1:7070"

// Environment variables [Dial] and [DialTLS] read for the settings a call leaves empty.
const (
	envServer     = "BATON_SERVER"
	envCAFile     = "BATON_CA_FILE"
	envClientCert = "BATON_CLIENT_CERT"
	envClientKey  = "BATON_CLIENT_KEY"
	envAPIKey     = "BATON_API_KEY"
)

// TLSConfig names the PEM files of a TLS connection to a Baton server. The zero value adds
// nothing: the system's certificate authorities and no client certificate.
type TLSConfig struct {
	// CAFile holds the certificate authorities to trust instead of the system's (for a
	// server whose certificate the system does not trust, such as one from `baton tls init`).
	CAFile string
	// CertFile is the client certificate to present to a server that requires mutual TLS
	// (`baton server --tls-client-ca`). It goes with KeyFile.
	CertFile string
	// KeyFile is the private key of CertFile.
	KeyFile string
}

// TLSConfigError reports TLS settings that cannot be used: an http:// address combined with
// a CA file or client certificate, a client certificate without its key (or a key without
// its certificate), or a file that cannot be read or parsed. [Dial], [DialTLS] and
// [TLSConfig.Credentials] return it (use errors.As); when the cause is an error reading or
// parsing a file, Unwrap returns that error, so errors.Is(err, fs.ErrNotExist) and the like
// apply.
type TLSConfigError struct {
	// Problem says what is wrong, naming the setting or the file.
	Problem string
	// Err is the error that caused it (from reading or parsing a file), or nil.
	Err error
}

// Error returns the problem, followed by its cause when there is one.
func (e *TLSConfigError) Error() string {
	if e.Err == nil {
		return "baton: " + e.Problem
	}
	cause := e.Err
	var pe *fs.PathError
	if errors.As(cause, &pe) {
		cause = pe.Err // the problem already names the file
	}
	return "baton: " + e.Problem + ": " + cause.Error()
}

// Unwrap returns the cause, or nil.
func (e *TLSConfigError) Unwrap() error { return e.Err }

// configured reports whether c asks for TLS: a CA file or a client certificate or key.
func (c TLSConfig) configured() bool {
	return c.CAFile != "" || c.CertFile != "" || c.KeyFile != ""
}

// withEnv fills the fields c leaves empty from the environment.
func (c TLSConfig) withEnv() TLSConfig {
	if c.CAFile == "" {
		c.CAFile = os.Getenv(envCAFile)
	}
	if c.CertFile == "" {
		c.CertFile = os.Getenv(envClientCert)
	}
	if c.KeyFile == "" {
		c.KeyFile = os.Getenv(envClientKey)
	}
	return c
}

// Credentials reads the files of c and returns gRPC transport credentials for TLS, for
// callers that build their own connection (pass them with grpc.WithTransportCredentials).
// serverName is the name the server's certificate must be valid for; when empty, gRPC
// checks the host of the connection's target. It reads no environment variables.
//
// It returns a [*TLSConfigError] when CertFile is set without KeyFile or the other way
// round, or when a file cannot be read or holds no usable PEM data.
func (c TLSConfig) Credentials(serverName string) (credentials.TransportCredentials, error) {
	cfg, err := c.tlsConfig(serverName)
	if err != nil {
		return nil, err
	}
	return credentials.NewTLS(cfg), nil
}

func (c TLSConfig) tlsConfig(serverName string) (*tls.Config, error) {
	switch {
	case c.CertFile != "" && c.KeyFile == "":
		return nil, &TLSConfigError{Problem: "client certificate " + c.CertFile +
			" has no key: set TLSConfig.KeyFile or " + envClientKey}
	case c.KeyFile != "" && c.CertFile == "":
		return nil, &TLSConfigError{Problem: "client key " + c.KeyFile +
			" has no certificate: set TLSConfig.CertFile or " + envClientCert}
	}
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, &TLSConfigError{Problem: "cannot read CA file " + c.CAFile, Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &TLSConfigError{Problem: "CA file " + c.CAFile + " holds no PEM certificate"}
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		certPEM, err := os.ReadFile(c.CertFile)
		if err != nil {
			return nil, &TLSConfigError{Problem: "cannot read client certificate " + c.CertFile, Err: err}
		}
		keyPEM, err := os.ReadFile(c.KeyFile)
		if err != nil {
			return nil, &TLSConfigError{Problem: "cannot read client key " + c.KeyFile, Err: err}
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, &TLSConfigError{
				Problem: "client certificate " + c.CertFile + " and key " + c.KeyFile + " cannot be used",
				Err:     err,
			}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Dial opens a gRPC connection to a Baton server, for use by [NewClient] and [NewWorker]. It
// is [DialTLS] with an empty [TLSConfig]: TLS settings come from the address and the
// environment only. Pass [WithAPIKey] among opts for a server that requires credentials
// (without it, the key comes from BATON_API_KEY).
func Dial(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	return DialTLS(target, TLSConfig{}, opts...)
}

// DialTLS opens a gRPC connection to a Baton server, for use by [NewClient] and [NewWorker].
//
// An empty target means the BATON_SERVER environment variable, or [DefaultAddress] when that
// is unset. The target decides between plain text and TLS:
//
//   - https://host:port uses TLS, trusting the certificate authorities of the CA file when
//     one is set, else the system's;
//   - http://host:port uses plain text; a CA file or client certificate with it is an error;
//   - a bare host:port (or another gRPC target) uses plain text, unless a CA file or client
//     certificate is set, in which case it uses TLS.
//
// Each field of tls left empty is taken from the environment: BATON_CA_FILE,
// BATON_CLIENT_CERT and BATON_CLIENT_KEY. The server's certificate must be valid for the host
// of the address. DialTLS reads the files at once and returns a [*TLSConfigError] when the
// settings conflict or a file cannot be used, so a mistake shows here rather than on the
// first call.
//
// Every call on the connection, the worker's streams included, carries the API key of the
// last [WithAPIKey] among opts or, when opts hold none, the BATON_API_KEY environment
// variable; an empty key sends no credentials.
//
// The connection retries a lost connection quickly (100 ms growing to at most 5 s), which
// suits a worker waiting for a restarting server; opts are applied after these defaults, so
// grpc.WithTransportCredentials and the like override them. Like grpc.NewClient, DialTLS does
// not wait for the server: the first call does. Close the connection when done.
func DialTLS(target string, tls TLSConfig, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	if target == "" {
		target = os.Getenv(envServer)
	}
	if target == "" {
		target = DefaultAddress
	}
	tls = tls.withEnv()
	opts, key := takeAPIKey(opts)
	grpcTarget, scheme, err := splitTarget(target)
	if err != nil {
		return nil, err
	}
	useTLS := false
	switch scheme {
	case "https":
		useTLS = true
	case "http":
		if tls.configured() {
			return nil, &TLSConfigError{Problem: "a CA file or client certificate needs an https:// server address (or a bare host:port), got " +
				target + tlsSources(tls)}
		}
	default:
		useTLS = tls.configured()
	}
	creds := insecure.NewCredentials()
	if useTLS {
		serverName := ""
		if host, _, err := net.SplitHostPort(grpcTarget); err == nil {
			serverName = host
		}
		if creds, err = tls.Credentials(serverName); err != nil {
			return nil, err
		}
	}
	all := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
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
	if key != "" {
		all = append(all, grpc.WithPerRPCCredentials(apiKeyCredentials{key: key}))
	}
	all = append(all, opts...)
	return grpc.NewClient(grpcTarget, all...)
}

// splitTarget takes the scheme off an http:// or https:// address and returns the gRPC
// target (host:port; the scheme's usual port when the address has none) and the scheme in
// lower case. Any other target is returned as is, with an empty scheme.
func splitTarget(target string) (grpcTarget, scheme string, err error) {
	lower := strings.ToLower(target)
	switch {
	case strings.HasPrefix(lower, "https://"):
		scheme = "https"
	case strings.HasPrefix(lower, "http://"):
		scheme = "http"
	default:
		return target, "", nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", "", fmt.Errorf("baton: invalid server address %s: %w", target, err)
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("baton: invalid server address %s: want %s://host:port", target, scheme)
	}
	port := u.Port()
	if port == "" {
		port = "443"
		if scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), scheme, nil
}

// tlsSources names the TLS settings in effect, for an error about them.
func tlsSources(c TLSConfig) string {
	var parts []string
	if c.CAFile != "" {
		parts = append(parts, "CA file "+c.CAFile)
	}
	if c.CertFile != "" {
		parts = append(parts, "client certificate "+c.CertFile)
	}
	if c.KeyFile != "" {
		parts = append(parts, "client key "+c.KeyFile)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
