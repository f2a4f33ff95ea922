package example

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

// Options narrows the output. The zero value writes the canonical full
// history.
type Options struct {
	// From and To keep only rows with From <= created_at < To. The whole
	// history is simulated either way, so a narrowed output is exactly the
	// matching slice of the full one: same rows, ids and texts. Zero means
	// the start (2025-11-17) or the end (2026-03-02, exclusive) of the history.
	From, To time.Time
}

// Header is the CSV header's column names, in order.
var Header = []string{"id", "created_at", "email", "status", "response", "ip", "message_id", "attempt", "stream"}

const headerLine = "id,created_at,email,status,response,ip,message_id,attempt,stream\n"

// A batch carries rows from the simulation to a renderer and, rendered, to
// the writer.
type batch struct {
	recs []rec
	out  []byte
	done chan struct{}
}

const batchRows = 4096

// Write streams the incident's notifications table as psql's
// COPY (SELECT ...) TO STDOUT CSV HEADER prints it.
//
// One goroutine simulates the history and decides every row; renderers turn
// rows into text in parallel (each row's random text comes from its own id,
// so the bytes do not depend on scheduling); Write itself writes the
// rendered batches to w in order. Memory stays bounded: a few batches are in
// flight at a time.
func Write(w io.Writer, opts Options) error {
	p := thePlan()
	from, to := p.start, p.end
	if !opts.From.IsZero() {
		from = opts.From.UnixMicro()
	}
	if !opts.To.IsZero() {
		to = opts.To.UnixMicro()
	}
	if to <= from {
		return fmt.Errorf("example range: To %s is not after From %s",
			time.UnixMicro(to).UTC().Format(time.RFC3339), time.UnixMicro(from).UTC().Format(time.RFC3339))
	}
	if _, err := io.WriteString(w, headerLine); err != nil {
		return fmt.Errorf("example csv: %w", err)
	}

	renderers := min(max(runtime.GOMAXPROCS(0), 1), 4)
	work := make(chan *batch, renderers)
	order := make(chan *batch, 2*renderers+2)
	free := make(chan *batch, 3*renderers+4)
	stop := make(chan struct{})

	s := newSim(&p, from, to)
	go func() {
		defer close(order)
		defer close(work)
		s.run(func(b *batch) bool {
			b.done = make(chan struct{})
			select {
			case work <- b:
			case <-stop:
				return false
			}
			order <- b
			return true
		}, free)
	}()
	for range renderers {
		go func() {
			var r renderer
			r.pop = s.pop
			for b := range work {
				b.out = r.render(b.out[:0], b.recs)
				close(b.done)
			}
		}()
	}

	var err error
	for b := range order {
		<-b.done
		if err == nil {
			if _, err = w.Write(b.out); err != nil {
				close(stop)
			}
		}
		b.recs = b.recs[:0]
		select {
		case free <- b:
		default:
		}
	}
	if err != nil {
		return fmt.Errorf("example csv: %w", err)
	}
	return nil
}
