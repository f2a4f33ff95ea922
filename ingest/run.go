package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
)

// ReplyClass is what the classifier says about a reply, stored with it at
// ingest so grouping deferrals is a query.
type ReplyClass struct {
	Reason    string
	Temporary bool
	RuleID    string
}

// Options control one ingest run.
type Options struct {
	Format    string // "auto" or a format name
	TZ        *time.Location
	Status    map[string]EventType // overrides of the default status words
	ColumnMap map[Field]string
	// Enrich sets derived fields (the provider) on every event before it is
	// stored. It runs on the parsing goroutine.
	Enrich func(*Event)
	// Normalize turns a reply into its group key (ids, IPs, addresses and
	// times replaced by placeholders). It runs on the parsing goroutine for
	// every reply that is not a 2xx; nil groups replies by their exact text.
	Normalize func(reply string) string
	// Classify is called once per reply group; nil leaves groups unclassified.
	Classify        func(text string, code int, enhanced string) ReplyClass
	ClassifyVersion string
	// Progress reports raw bytes consumed of the current input and its size
	// (0 when unknown). It is called from the writing goroutine.
	Progress func(name string, done, total int64)
	Args     string // what was asked, stored with the run as JSON
	// CountsProvider: see ParseOptions.
	CountsProvider string
	// MaxExpansion bounds how many times a compressed input may expand
	// (default DefaultMaxExpansion).
	MaxExpansion int64
	Now          func() time.Time
	Registry     *Registry
	// Year is the year of the first line of syslog-style logs without one
	// (0 infers it from the file's modification time or the clock).
	Year int
	// SendingIP is used for MTA logs that do not record the sending IP.
	SendingIP string
}

// RunSummary is what an ingest run did. Read = Stored + Duplicates + Rejected,
// always, for the run and for each source.
type RunSummary struct {
	RunID         int64           `json:"run_id"`
	Status        string          `json:"status"`
	TZ            string          `json:"tz"`
	Read          int64           `json:"read"`
	Stored        int64           `json:"stored"`
	Duplicates    int64           `json:"duplicates"`
	Rejected      int64           `json:"rejected"`
	ZoneAssumed   int64           `json:"zone_assumed"`
	First         *time.Time      `json:"first,omitempty"`
	Last          *time.Time      `json:"last,omitempty"`
	Providers     []ProviderCount `json:"providers"`
	Sources       []SourceSummary `json:"sources"`
	RejectReasons []ReasonCount   `json:"reject_reasons"`
	FirstRejects  []RejectSample  `json:"first_rejects"`
}

// SourceSummary is one input of a run.
type SourceSummary struct {
	Name        string     `json:"name"`
	Format      string     `json:"format"`
	Detected    string     `json:"detected"`
	Compression string     `json:"compression,omitempty"`
	Read        int64      `json:"read"`
	Stored      int64      `json:"stored"`
	Duplicates  int64      `json:"duplicates"`
	Rejected    int64      `json:"rejected"`
	ZoneAssumed int64      `json:"zone_assumed"`
	First       *time.Time `json:"first,omitempty"`
	Last        *time.Time `json:"last,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// ProviderCount is events read per provider.
type ProviderCount struct {
	Provider string `json:"provider"`
	Events   int64  `json:"events"`
}

// ReasonCount groups rejects by reason.
type ReasonCount struct {
	Reason    string `json:"reason"`
	Count     int64  `json:"count"`
	FirstLine int64  `json:"first_line"`
	Source    string `json:"source"`
}

// RejectSample is one rejected record.
type RejectSample struct {
	Source string `json:"source"`
	Line   int64  `json:"line"`
	Reason string `json:"reason"`
}

// ErrInterrupted is returned when the context was cancelled mid-run; what was
// read before is committed and the run is marked interrupted.
var ErrInterrupted = errors.New("ingest interrupted")

// InputError is an input that could not be read at all (missing file, no
// matching format, missing columns). Other inputs of the run still proceed.
type InputError struct {
	Source string
	Err    error
}

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Ingest reads every input into the store as one run.
func Ingest(ctx context.Context, s *Store, inputs []Input, opts Options) (*RunSummary, error) {
	if opts.TZ == nil {
		opts.TZ = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	if opts.Format == "" {
		opts.Format = "auto"
	}
	if opts.SendingIP != "" {
		ip, ok := normalizeIP(opts.SendingIP)
		if !ok {
			return nil, fmt.Errorf("sending IP %q is not an IP address", opts.SendingIP)
		}
		opts.SendingIP = ip
	}
	var forced Format
	if opts.Format != "auto" {
		f, err := opts.Registry.Lookup(opts.Format)
		if err != nil {
			return nil, err
		}
		forced = f
	}
	inputs, err := expandInputs(inputs)
	if err != nil {
		return nil, &InputError{Err: err}
	}
	if err := s.markStaleRuns(ctx); err != nil {
		return nil, err
	}
	w, err := newWriter(ctx, s, opts)
	if err != nil {
		return nil, err
	}
	defer w.close()
	sum := &RunSummary{RunID: w.runID, TZ: opts.TZ.String()}
	status := new(StatusMap)
	*status = NewStatusMap(opts.Status)
	var inputErrs []error
	var runErr error
	for _, in := range inputs {
		src, err := w.ingestOne(ctx, in, forced, *status, opts)
		if src != nil {
			sum.Sources = append(sum.Sources, *src)
		}
		if err != nil {
			var ie *InputError
			if errors.As(err, &ie) {
				inputErrs = append(inputErrs, err)
				continue
			}
			runErr = err
			break
		}
	}
	final := "finished"
	switch {
	case errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded):
		final, runErr = "interrupted", ErrInterrupted
	case runErr != nil:
		final = "failed"
	case len(inputErrs) > 0:
		final = "failed"
	}
	errText := ""
	if runErr != nil {
		errText = runErr.Error()
	} else if len(inputErrs) > 0 {
		errText = errors.Join(inputErrs...).Error()
	}
	// The run row must be closed even when ctx is cancelled.
	if err := w.finish(context.WithoutCancel(ctx), final, errText); err != nil && runErr == nil {
		runErr = err
	}
	sum.Status = final
	w.fill(sum)
	if runErr != nil {
		return sum, runErr
	}
	if len(inputErrs) > 0 {
		return sum, errors.Join(inputErrs...)
	}
	return sum, nil
}

// batch is the unit handed from the parser to the writer.
type batch struct {
	events   []Event
	snds     []SNDSRow
	blocks   []SNDSBlock
	counts   []CountRow
	rejects  []rejectRec
	zoneless int64
	consumed int64

	// What the writer needs per batch rather than per event, summed by the
	// parsing goroutine: the writer's is the busier core.
	minutes     map[nameMinute]batchMinute // events by minute, provider and sending IP
	domains     map[string]string          // recipient domain -> provider
	first, last int64                      // Unix ms of the earliest and latest event
}

// nameMinute is an event_minutes key before provider and IP are interned.
type nameMinute struct {
	minute       int64
	provider, ip string
}

// batchMinute counts a batch's events of one minute, provider and IP. Which
// of them are sends depends on the source's send kind, decided by the writer.
type batchMinute struct {
	events                        int64 // all of them
	explicit, first               int64 // processed/sent events; first delivery attempts
	attempts, delivered, deferred int64
	bounced, dropped, complaints  int64
}

// add counts one event.
func (v *batchMinute) add(e *Event) {
	v.events++
	switch e.Type {
	case TypeProcessed, TypeSent:
		v.explicit++
	case TypeDelivered, TypeDeferred, TypeBounced:
		v.attempts++
		if e.Attempt <= 1 {
			v.first++
		}
		switch e.Type {
		case TypeDelivered:
			v.delivered++
		case TypeDeferred:
			v.deferred++
		default:
			v.bounced++
		}
	case TypeDropped:
		v.dropped++
	case TypeComplaint:
		v.complaints++
	}
}

// sum notes one event in the batch's summary.
func (b *batch) sum(e *Event) {
	ms := e.Time.UnixMilli()
	if len(b.events) == 1 || ms < b.first {
		b.first = ms
	}
	if len(b.events) == 1 || ms > b.last {
		b.last = ms
	}
	if _, ok := b.domains[e.Domain]; !ok {
		b.domains[e.Domain] = e.Provider
	}
	k := nameMinute{ms / 60000, e.Provider, e.SendingIP}
	v := b.minutes[k]
	v.add(e)
	b.minutes[k] = v
}

type rejectRec struct {
	line   int64
	raw    string
	reason string
}

const batchEvents = 4096

// batchSink collects a parser's output into batches on a channel.
type batchSink struct {
	ctx       context.Context
	out       chan<- *batch
	free      chan *batch
	cur       *batch
	enrich    func(*Event)
	normalize func(string) string
	in        *opened
}

func (b *batchSink) get() *batch {
	if b.cur == nil {
		select {
		case b.cur = <-b.free:
			b.cur.events = b.cur.events[:0]
			b.cur.rejects = b.cur.rejects[:0]
			b.cur.snds, b.cur.blocks, b.cur.counts = b.cur.snds[:0], b.cur.blocks[:0], b.cur.counts[:0]
			b.cur.zoneless = 0
			clear(b.cur.minutes)
			clear(b.cur.domains)
		default:
			b.cur = &batch{events: make([]Event, 0, batchEvents), minutes: map[nameMinute]batchMinute{},
				domains: map[string]string{}}
		}
	}
	return b.cur
}

func (b *batchSink) Event(e *Event) {
	if err := checkEventTime(e.Time); err != nil {
		// Parsers accept any year; the store does not (see eventid.go).
		b.Reject(e.Line, fmt.Sprintf("time=%s recipient=%s status=%s", e.Time.UTC().Format(time.RFC3339Nano), e.Recipient, e.Word), err.Error())
		return
	}
	if b.enrich != nil {
		b.enrich(e)
	}
	if e.Reply != "" && !e.isSuccess() {
		if b.normalize != nil {
			e.GroupKey = b.normalize(e.Reply)
		} else {
			e.GroupKey = e.Reply
		}
	}
	c := b.get()
	c.events = append(c.events, *e)
	c.sum(e)
	if len(c.events) >= batchEvents {
		b.flush()
	}
}

func (b *batchSink) Reject(line int64, raw, reason string) {
	c := b.get()
	c.rejects = append(c.rejects, rejectRec{line: line, raw: clip(raw, maxRejectRaw), reason: reason})
	if len(c.rejects) >= batchEvents {
		b.flush()
	}
}

func (b *batchSink) ZoneAssumed() { b.get().zoneless++ }

func (b *batchSink) SNDS(r *SNDSRow) {
	c := b.get()
	c.snds = append(c.snds, *r)
	if len(c.snds) >= batchEvents {
		b.flush()
	}
}

func (b *batchSink) SNDSBlock(r *SNDSBlock) {
	c := b.get()
	c.blocks = append(c.blocks, *r)
	if len(c.blocks) >= batchEvents {
		b.flush()
	}
}

func (b *batchSink) Count(r *CountRow) {
	if r.Provider == "" && r.Domain != "" && b.enrich != nil {
		e := Event{Domain: r.Domain}
		b.enrich(&e)
		r.Provider = e.Provider
	}
	c := b.get()
	c.counts = append(c.counts, *r)
	if len(c.counts) >= batchEvents {
		b.flush()
	}
}

func (b *batchSink) flush() {
	if b.cur == nil {
		return
	}
	b.cur.consumed = b.in.consumed.Load()
	select {
	case b.out <- b.cur:
	case <-b.ctx.Done():
	}
	b.cur = nil
}

// maxRejectRaw bounds what a reject keeps of one record's raw text.
const maxRejectRaw = 64 << 10

// ingestOne reads one input: open, detect, parse on a goroutine, write here.
func (w *writer) ingestOne(ctx context.Context, in Input, forced Format, status StatusMap, opts Options) (*SourceSummary, error) {
	src := &SourceSummary{Name: in.Name}
	o, err := openInput(in, opts.MaxExpansion)
	if err != nil {
		src.Error = err.Error()
		return src, &InputError{Source: in.Name, Err: err}
	}
	defer o.Close()
	src.Compression = o.compression
	head, err := o.head()
	if err != nil {
		src.Error = err.Error()
		return src, &InputError{Source: in.Name, Err: fmt.Errorf("%s: %w", in.Name, err)}
	}
	f := forced
	why := "chosen with --format"
	if f == nil {
		f, why, err = opts.Registry.Detect(head)
		if err != nil {
			err = fmt.Errorf("%s: %w", in.Name, err)
			src.Error = err.Error()
			return src, &InputError{Source: in.Name, Err: err}
		}
	}
	if o.compression != "" {
		why += " (" + o.compression + "-compressed)"
	}
	src.Format, src.Detected = f.Name(), why
	if err := w.beginSource(ctx, src); err != nil {
		return src, err
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *batch, 4)
	sink := &batchSink{ctx: pctx, out: ch, free: w.free, enrich: opts.Enrich, normalize: opts.Normalize, in: o}
	popts := &ParseOptions{Source: in.Name, TZ: opts.TZ, Status: status, ColumnMap: opts.ColumnMap, CountsProvider: opts.CountsProvider,
		Year: opts.Year, ModTime: o.modTime, Now: opts.Now, SendingIP: opts.SendingIP}
	var parseErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		parseErr = f.Parse(pctx, o.r, popts, sink)
		sink.flush()
	}()
	// Database work must finish even after ctx is cancelled: what was read is
	// committed so the interrupted run's counts match its rows.
	dbctx := context.WithoutCancel(ctx)
	var writeErr error
	for b := range ch {
		if writeErr == nil && ctx.Err() == nil {
			writeErr = w.write(dbctx, b)
			if writeErr != nil {
				cancel()
			}
			if opts.Progress != nil {
				opts.Progress(in.Name, b.consumed, o.size)
			}
		}
		select {
		case w.free <- b:
		default:
		}
	}
	wg.Wait()
	if writeErr == nil {
		writeErr = w.commit(dbctx)
	}
	if writeErr == nil {
		writeErr = w.endSource(dbctx)
	}
	w.fillSource(src)
	switch {
	case writeErr != nil:
		return src, writeErr
	case ctx.Err() != nil:
		return src, ctx.Err()
	case parseErr != nil:
		src.Error = parseErr.Error()
		return src, &InputError{Source: in.Name, Err: parseErr}
	}
	return src, nil
}

// markStaleRuns marks runs left "running" by a process on this host that no
// longer exists as interrupted, so the database says what happened.
func (s *Store) markStaleRuns(ctx context.Context) error {
	host, _ := os.Hostname()
	rows, err := s.db.QueryContext(ctx, `SELECT id, pid FROM ingest_runs WHERE status = 'running' AND host = ?`, host)
	if err != nil {
		return wrapDBErr("check earlier runs", err)
	}
	var stale []int64
	for rows.Next() {
		var id, pid int64
		if err := rows.Scan(&id, &pid); err != nil {
			rows.Close()
			return err
		}
		if pid != int64(os.Getpid()) && !processAlive(int(pid)) {
			stale = append(stale, id)
		}
	}
	rows.Close()
	for _, id := range stale {
		if _, err := s.db.ExecContext(ctx, `UPDATE ingest_runs SET status = 'interrupted',
			error = coalesce(error, 'the process ended before the run finished') WHERE id = ? AND status = 'running'`, id); err != nil {
			return wrapDBErr("mark interrupted run", err)
		}
	}
	return nil
}

func sortedProviders(m map[string]int64) []ProviderCount {
	out := make([]ProviderCount, 0, len(m))
	for p, n := range m {
		out = append(out, ProviderCount{Provider: p, Events: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Events != out[j].Events {
			return out[i].Events > out[j].Events
		}
		return out[i].Provider < out[j].Provider
	})
	return out
}
