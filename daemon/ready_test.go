package daemon

import (
	"slices"
	"testing"
)

// Ready items start in the order they became ready, except that a
// provider at its share starts none until one of its checks ends; first
// looks count against no provider.
func TestReadyItemsStartInOrderSkippingAProviderAtItsShare(t *testing.T) {
	r := newReadyQueue()
	share := func(n int) *job { return &job{maxInFlight: n} }
	a, b := share(2), share(1)
	for _, x := range []struct {
		name, provider string
		j              *job
		kind           jobKind
	}{
		{"a1", "a", a, jobCheck}, {"a2", "a", a, jobCheck}, {"a3", "a", a, jobCheck},
		{"b1", "b", b, jobCheck}, {"first", "", nil, jobFirst}, {"b2", "b", b, jobCheck}, {"a4", "a", a, jobCheck},
	} {
		r.push(&item{name: x.name, kind: x.kind, job: x.j}, x.provider, x.kind != jobFirst)
	}
	var started []string
	take := func(n int) {
		for range n {
			it, pq, ok := r.pop()
			if !ok {
				return
			}
			r.started(pq)
			started = append(started, it.name)
		}
	}
	take(10)
	if want := []string{"a1", "a2", "b1", "first"}; !slices.Equal(started, want) {
		t.Fatalf("started %v, want %v: a holds 2, b 1, the first look none", started, want)
	}
	if r.Len() != 3 {
		t.Fatalf("%d waiting, want 3", r.Len())
	}
	r.ended("b")
	take(10)
	r.ended("a")
	take(10)
	if want := []string{"a1", "a2", "b1", "first", "b2", "a3"}; !slices.Equal(started, want) {
		t.Errorf("started %v, want %v", started, want)
	}
	r.ended("a")
	take(10)
	if r.Len() != 0 || started[len(started)-1] != "a4" {
		t.Errorf("started %v with %d waiting, want a4 last and none waiting", started, r.Len())
	}
}
