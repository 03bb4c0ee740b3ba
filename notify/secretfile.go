package notify

import (
	"fmt"

	"github.com/credkeeper/credkeeper/internal/secret"
)

// ReadSecretFile reads a channel's secret (an SMTP password, a webhook URL,
// a routing key) from a file, trimmed. Its error is an ErrConfig that names
// the file, never its contents.
func ReadSecretFile(path, what string) (secret.Value, error) {
	v, err := secret.ReadFile(path, what)
	if err != nil {
		return secret.Value{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return v, nil
}
