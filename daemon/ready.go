package daemon

import (
	"cmp"
	"container/heap"
	"slices"
)

// readyQueue holds the items whose budget is taken and that wait for a
// slot: one FIFO per provider, and a heap of the providers that may start
// one now (a waiting item, fewer checks in flight than their share),
// ordered by when their first waiting item became ready. Starting the next
// item is O(log providers) however many wait: a provider at its share
// leaves the heap and costs nothing until one of its checks ends.
//
// The order is the order items became ready, except that a provider at
// its share starts no more until one of its checks ends.
type readyQueue struct {
	byName map[string]*providerQueue
	// open are the providers that may start their first item now.
	open providerHeap
	seq  uint64
	n    int
}

// providerQueue is one provider's waiting items and its checks in flight.
// The uncounted queue (first looks) has no share.
type providerQueue struct {
	name     string
	counted  bool
	items    []readyItem
	head     int
	inFlight int
	index    int // in open; -1 when out of it
}

type readyItem struct {
	it  *item
	seq uint64
}

// uncounted names the queue of items that count against no provider.
const uncounted = "\x00uncounted"

func newReadyQueue() *readyQueue { return &readyQueue{byName: map[string]*providerQueue{}} }

// Len is how many items wait.
func (r *readyQueue) Len() int { return r.n }

func (r *readyQueue) queue(name string, counted bool) *providerQueue {
	if !counted {
		name = uncounted
	}
	pq := r.byName[name]
	if pq == nil {
		pq = &providerQueue{name: name, counted: counted, index: -1}
		r.byName[name] = pq
	}
	return pq
}

// push adds it, which counts against provider when counted, at the end.
func (r *readyQueue) push(it *item, provider string, counted bool) {
	pq := r.queue(provider, counted)
	r.seq++
	pq.items = append(pq.items, readyItem{it: it, seq: r.seq})
	r.n++
	r.update(pq)
}

// pop takes the first item that may start now, the queue it came from,
// and whether there was one.
func (r *readyQueue) pop() (*item, *providerQueue, bool) {
	if r.open.Len() == 0 {
		return nil, nil, false
	}
	pq := r.open[0]
	it := pq.items[pq.head].it
	pq.items[pq.head] = readyItem{}
	pq.head++
	if pq.head == len(pq.items) {
		pq.items, pq.head = pq.items[:0], 0
	}
	r.n--
	r.update(pq)
	return it, pq, true
}

// started counts a check of pq's provider in flight.
func (r *readyQueue) started(pq *providerQueue) {
	if pq.counted {
		pq.inFlight++
		r.update(pq)
	}
}

// ended counts a check of provider out of flight.
func (r *readyQueue) ended(provider string) {
	if pq := r.byName[provider]; pq != nil && pq.counted {
		pq.inFlight--
		r.update(pq)
	}
}

// canStart reports whether pq's first waiting item may start: a provider
// at its share (its first item's job says what it is) may not.
func (pq *providerQueue) canStart() bool {
	if pq.head == len(pq.items) {
		return false
	}
	if !pq.counted {
		return true
	}
	return pq.inFlight < pq.items[pq.head].it.job.maxInFlight
}

// update puts pq in open, moves it, or takes it out, as it now may start.
func (r *readyQueue) update(pq *providerQueue) {
	switch can := pq.canStart(); {
	case can && pq.index < 0:
		heap.Push(&r.open, pq)
	case can:
		heap.Fix(&r.open, pq.index)
	case pq.index >= 0:
		heap.Remove(&r.open, pq.index)
	}
}

// providerHeap is a min-heap of providers by their first waiting item's
// readiness.
type providerHeap []*providerQueue

func (h providerHeap) Len() int { return len(h) }
func (h providerHeap) Less(i, j int) bool {
	return h[i].items[h[i].head].seq < h[j].items[h[j].head].seq
}
func (h providerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *providerHeap) Push(x any) {
	pq := x.(*providerQueue)
	pq.index = len(*h)
	*h = append(*h, pq)
}
func (h *providerHeap) Pop() any {
	old := *h
	pq := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	pq.index = -1
	return pq
}

// drain takes every waiting item out, in the order they became ready,
// keeping each provider's checks in flight counted.
func (r *readyQueue) drain() []*item {
	all := make([]readyItem, 0, r.n)
	for _, pq := range r.byName {
		all = append(all, pq.items[pq.head:]...)
		clear(pq.items)
		pq.items, pq.head = pq.items[:0], 0
		r.update(pq)
	}
	slices.SortFunc(all, func(a, b readyItem) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]*item, len(all))
	for i, ri := range all {
		out[i] = ri.it
	}
	r.n = 0
	return out
}
