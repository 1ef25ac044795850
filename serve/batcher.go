package serve

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// job is one request's rows on their way through the queue.
type job struct {
	ctx  context.Context
	encs []tokenizer.Encoding
	out  [][]float32 // one vector per row, in input order
	err  error

	queued   time.Time
	queue    time.Duration // longest wait of a row until its batch started
	infer    time.Duration // longest forward pass of its rows
	mu       sync.Mutex
	left     int
	done     chan struct{}
	elems    []*list.Element // rows still in the queue
	finished bool
}

// entry is one row in the queue.
type entry struct {
	j   *job
	row int
}

// errClosed answers rows still queued when the batcher stops.
var errClosed = errors.New("serve: the server is shutting down")

// batcher is the queue and the one goroutine that runs batches.
type batcher struct {
	run       func(ctx context.Context, encs []tokenizer.Encoding) ([][]float32, error)
	maxTokens int // real tokens per batch
	maxRows   int // rows per batch (0: no limit)
	m         *metrics

	mu      sync.Mutex
	q       list.List // of *entry, oldest first
	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	closed  bool
	lastOK  time.Time // end of the last successful batch
}

func newBatcher(run func(context.Context, []tokenizer.Encoding) ([][]float32, error), maxTokens, maxRows int, m *metrics) *batcher {
	b := &batcher{run: run, maxTokens: maxTokens, maxRows: maxRows, m: m,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go b.loop()
	return b
}

// submit queues the job's rows; the job's done channel closes when every
// row has its output, or on error.
func (b *batcher) submit(j *job) {
	j.done = make(chan struct{})
	j.out = make([][]float32, len(j.encs))
	j.left = len(j.encs)
	j.queued = time.Now()
	if len(j.encs) == 0 {
		close(j.done)
		return
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		j.fail(errClosed)
		return
	}
	j.elems = make([]*list.Element, len(j.encs))
	for i := range j.encs {
		j.elems[i] = b.q.PushBack(&entry{j: j, row: i})
	}
	b.m.queueSize.Add(float64(len(j.encs)))
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// cancel takes the job's rows that are still waiting out of the queue; rows
// already in a running batch finish there and their output is dropped.
func (b *batcher) cancel(j *job) {
	b.mu.Lock()
	n := 0
	for i, e := range j.elems {
		if e != nil {
			b.q.Remove(e)
			j.elems[i] = nil
			n++
		}
	}
	b.m.queueSize.Add(-float64(n))
	b.mu.Unlock()
	if n > 0 {
		b.m.cancelledRows.Add(float64(n))
	}
}

// queued is the number of rows waiting.
func (b *batcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.q.Len()
}

// healthy reports whether a batch succeeded within d.
func (b *batcher) recentlyOK(d time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.lastOK.IsZero() && time.Since(b.lastOK) < d
}

// close stops the loop after the batch in progress; rows still queued get
// errClosed.
func (b *batcher) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.stopped
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	<-b.stopped
	b.mu.Lock()
	var rest []*entry
	for e := b.q.Front(); e != nil; e = e.Next() {
		rest = append(rest, e.Value.(*entry))
	}
	b.q.Init()
	b.m.queueSize.Add(-float64(len(rest)))
	b.mu.Unlock()
	for _, e := range rest {
		e.j.fail(errClosed)
	}
}

func (b *batcher) loop() {
	defer close(b.stopped)
	for {
		batch := b.next()
		if batch == nil {
			select {
			case <-b.wake:
				continue
			case <-b.stop:
				return
			}
		}
		b.runBatch(batch)
		select {
		case <-b.stop:
			return
		default:
		}
	}
}

// next takes rows from the queue, oldest first, while their tokens fit the
// budget (the first row always goes, as in TEI). Rows of requests that
// have ended are dropped here.
func (b *batcher) next() []*entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*entry
	tokens := 0
	for e := b.q.Front(); e != nil; {
		next := e.Next()
		en := e.Value.(*entry)
		if en.j.ctx.Err() != nil { // gone: leaves without running
			b.q.Remove(e)
			en.j.elems[en.row] = nil
			b.m.queueSize.Add(-1)
			b.m.cancelledRows.Add(1)
			e = next
			continue
		}
		n := len(en.j.encs[en.row].IDs)
		if len(out) > 0 && (tokens+n > b.maxTokens || (b.maxRows > 0 && len(out) >= b.maxRows)) {
			break
		}
		tokens += n
		b.q.Remove(e)
		en.j.elems[en.row] = nil
		out = append(out, en)
		e = next
	}
	b.m.queueSize.Add(-float64(len(out)))
	if len(out) > 0 {
		b.m.batchSize.Observe(float64(len(out)))
		b.m.batchTokens.Observe(float64(tokens))
	}
	return out
}

// runBatch runs the batch's forward passes, grouped by length, and hands
// the outputs back.
func (b *batcher) runBatch(batch []*entry) {
	start := time.Now()
	for _, en := range batch {
		en.j.noteQueue(start.Sub(en.j.queued))
	}
	lengths := make([]int, len(batch))
	for i, en := range batch {
		lengths[i] = len(en.j.encs[en.row].IDs)
	}
	for _, pass := range buckets(lengths, 0) {
		encs := make([]tokenizer.Encoding, len(pass))
		for k, i := range pass {
			encs[k] = batch[i].j.encs[batch[i].row]
		}
		t0 := time.Now()
		// The pass belongs to many requests: it runs to the end even if
		// some of them leave (their outputs are dropped).
		out, err := b.run(context.Background(), encs)
		d := time.Since(t0)
		b.m.passDuration.Observe(d.Seconds())
		b.m.passSize.Observe(float64(len(pass)))
		if err != nil {
			b.m.backendErrors.Add(1)
		} else {
			b.mu.Lock()
			b.lastOK = time.Now()
			b.mu.Unlock()
		}
		for k, i := range pass {
			en := batch[i]
			if err != nil {
				en.j.fail(err)
				continue
			}
			en.j.deliver(en.row, out[k], time.Since(start))
		}
	}
}

func (j *job) noteQueue(d time.Duration) {
	j.mu.Lock()
	j.queue = max(j.queue, d)
	j.mu.Unlock()
}

func (j *job) deliver(row int, v []float32, infer time.Duration) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.finished {
		return
	}
	j.out[row] = v
	j.infer = max(j.infer, infer)
	j.left--
	if j.left == 0 {
		j.finished = true
		close(j.done)
	}
}

func (j *job) fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.finished {
		return
	}
	j.err = err
	j.finished = true
	close(j.done)
}
