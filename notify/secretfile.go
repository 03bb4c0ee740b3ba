package notify

import (
	"fmt"
	"os"
	"strings"

	"github.com/credkeeper/credkeeper/internal/secret"
)

// ReadSecretFile reads a channel's secret (an SMTP password, a webhook URL,
// a routing key) from a file, trimmed. The error names the file, never
// its contents.
func ReadSecretFile(path, what string) (secret.Value, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return secret.Value{}, fmt.Errorf("%w: read %s from %s: %w", ErrConfig, what, path, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return secret.Value{}, fmt.Errorf("%w: %s file %s is empty", ErrConfig, what, path)
	}
	return secret.New(s), nil
}
