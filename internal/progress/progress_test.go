package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/jonboulle/clockwork"
)

func TestBarCountsAndClears(t *testing.T) {
	var buf bytes.Buffer
	b := Forced(&buf, "checking", 50, clockwork.NewFakeClock())
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); b.Add(1) }()
	}
	wg.Wait()
	b.Done()
	out := buf.String()
	if !strings.Contains(out, "\rchecking 50/50") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("progress output %q", out)
	}
}

// Not a terminal: nothing at all.
func TestBarIsSilentOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "checking", 50, clockwork.NewFakeClock())
	b.Add(10)
	b.Done()
	if buf.Len() != 0 {
		t.Errorf("wrote %q to a non-terminal", buf.String())
	}
}
