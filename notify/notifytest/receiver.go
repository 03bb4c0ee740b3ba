package notifytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

// Receiver is an HTTP receiver for any channel's tests (a webhook, Slack,
// PagerDuty's Events API): it keeps every request body it takes, answering
// OK (default 200 "ok"), and can be told to fail: to answer a status
// forever (Fail), or to hang, holding each request until its sender gives
// it up (Hang).
type Receiver struct {
	// OK is the success answer: its status (default 200) and body (default "ok").
	OKStatus int
	OKBody   string

	mu     sync.Mutex
	fail   int  // the status to answer instead, when set
	hang   bool // hold requests until their context ends
	held   int
	bodies [][]byte
	URL    string
}

// StartReceiver serves a Receiver on loopback until the test ends.
func StartReceiver(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	switch {
	case r.hang:
		r.held++
		r.mu.Unlock()
		<-req.Context().Done()
		r.mu.Lock()
		r.held--
		r.mu.Unlock()
	case r.fail != 0:
		status := r.fail
		r.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status))
	default:
		r.bodies = append(r.bodies, body)
		status, answer := r.OKStatus, r.OKBody
		r.mu.Unlock()
		if status == 0 {
			status = http.StatusOK
		}
		if answer == "" {
			answer = "ok"
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}
}

// Fail makes the receiver answer status to every request from now on
// (500: a receiver failing forever); 0 makes it answer OK again.
func (r *Receiver) Fail(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = status
}

// Hang makes the receiver hold every request from now on until its sender
// gives it up (the request's context ends); false lets new ones through.
func (r *Receiver) Hang(hang bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hang = hang
}

// Held is how many requests the receiver holds open now.
func (r *Receiver) Held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held
}

// Bodies are the bodies of the requests it took, in order.
func (r *Receiver) Bodies() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bodies)
}
