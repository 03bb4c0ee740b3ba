// Package progress shows how far a long run has come on a terminal: one
// line on standard error ("checking 37/500"), redrawn at most ten times a
// second and cleared at the end. It owns no output but that line, and
// writes nothing at all when standard error is not a terminal, so that
// logs and pipes stay clean.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/term"
)

// Bar counts done items of a run.
type Bar struct {
	w     io.Writer // nil: silent
	what  string
	total int
	clock clockwork.Clock // what "ten times a second" is measured by

	mu   sync.Mutex
	done int
	last time.Time
}

// New returns a bar for total items, drawn on w only when w is a
// terminal, at most ten times a second by clock.
func New(w io.Writer, what string, total int, clock clockwork.Clock) *Bar {
	b := &Bar{what: what, total: total, clock: clock}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && total > 1 {
		b.w = w
	}
	return b
}

// Forced returns a bar drawn on w whatever it is (for tests).
func Forced(w io.Writer, what string, total int, clock clockwork.Clock) *Bar {
	return &Bar{w: w, what: what, total: total, clock: clock}
}

// Add counts n more items done; it is safe for concurrent use.
func (b *Bar) Add(n int) {
	if b == nil || b.w == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if now := b.clock.Now(); b.done < b.total && now.Sub(b.last) < 100*time.Millisecond {
		return
	} else {
		b.last = now
	}
	fmt.Fprintf(b.w, "\r%s %d/%d", b.what, b.done, b.total)
}

// Done clears the line.
func (b *Bar) Done() {
	if b == nil || b.w == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprint(b.w, "\r\033[K")
}
