package batontest

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// Certs are the files `baton tls init` writes: a certificate authority, a server
// certificate signed by it (valid for localhost, 127.0.0.1 and ::1) and a client
// certificate signed by it, each with its key.
type Certs struct {
	Dir               string
	CA, CAKey         string
	Server, ServerKey string
	Client, ClientKey string
}

// InitTLS runs `bin tls init --dir dir` and returns the paths of the files it wrote.
func InitTLS(bin, dir string) (*Certs, error) {
	out, err := exec.Command(bin, "tls", "init", "--dir", dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s tls init --dir %s: %w\n%s", bin, dir, err, out)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	return &Certs{
		Dir: dir,
		CA:  p("ca.pem"), CAKey: p("ca-key.pem"),
		Server: p("server.pem"), ServerKey: p("server-key.pem"),
		Client: p("client.pem"), ClientKey: p("client-key.pem"),
	}, nil
}

// ServerArgs returns the `baton server` arguments that serve TLS with these certificates,
// and require client certificates signed by the authority when mutual is true.
func (c *Certs) ServerArgs(mutual bool) []string {
	args := []string{"--tls-cert", c.Server, "--tls-key", c.ServerKey}
	if mutual {
		args = append(args, "--tls-client-ca", c.CA)
	}
	return args
}
