package batontest

import (
	"fmt"
	"os/exec"
	"strings"
)

// Bootstrap runs `bin auth bootstrap --data-dir dataDir` (no server may be running on
// dataDir) and returns the admin API key it made: the last line of its output.
func Bootstrap(bin, dataDir string) (string, error) {
	cmd := exec.Command(bin, "auth", "bootstrap", "--data-dir", dataDir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s auth bootstrap --data-dir %s: %w\n%s", bin, dataDir, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := strings.TrimSpace(lines[len(lines)-1])
	if !strings.HasPrefix(key, "bk_") {
		return "", fmt.Errorf("%s auth bootstrap printed no key on its last line", bin)
	}
	return key, nil
}
