package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Format reads one source format into events.
type Format interface {
	// Name is the --format value.
	Name() string
	// Sniff looks at the first bytes of a (decompressed) input and says
	// whether it is this format, with the cue that decided.
	Sniff(head []byte) (ok bool, why string)
	// Cues describes what Sniff looks for, for the error when nothing matches.
	Cues() string
	// Parse reads every record of r into sink. It returns an error only when
	// the input as a whole cannot be read; a bad record is a sink.Reject.
	Parse(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink) error
}

// Sink receives what a parser makes of each record.
type Sink interface {
	Event(e *Event)
	Reject(line int64, raw, reason string)
	// ZoneAssumed records that a time had no zone and ParseOptions.TZ was used.
	ZoneAssumed()
}

// ParseOptions are what a parser may need beyond the bytes.
type ParseOptions struct {
	Source    string         // file name as the user gave it, for messages
	TZ        *time.Location // for zone-less times
	Status    StatusMap      // source words -> types
	ColumnMap map[Field]string
	// Year is the year of the first line of a log whose timestamps carry
	// none (classic syslog); 0 infers it from ModTime, else from Now.
	Year int
	// ModTime is the input file's modification time, zero for stdin.
	ModTime time.Time
	// Now is the injected clock; nil means time.Now.
	Now func() time.Time
	// SendingIP is the IP an MTA log does not record (--sending-ip),
	// canonical, empty when not given.
	SendingIP string
	// CountsProvider is the provider pre-aggregated counts are for when the
	// file has no provider or domain column ("all" for every recipient).
	CountsProvider string
}

// Registry holds the formats auto-detection tries, in order.
type Registry struct {
	formats []Format
}

// NewRegistry returns every built-in format, most specific first: the
// catch-all CSV reader comes last (PowerMTA's header is CSV too).
func NewRegistry() *Registry {
	return &Registry{formats: []Format{
		sendGridFormat{}, sparkPostFormat{}, mandrillFormat{}, sesFormat{}, mailgunFormat{}, postmarkFormat{}, brevoFormat{},
		kumoMTAFormat{}, postfixFormat{}, eximFormat{}, powerMTAFormat{},
		sndsDataFormat{}, sndsStatusFormat{}, countsFormat{},
		csvExportFormat{},
	}}
}

// Names lists the formats for --help and errors.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.formats))
	for _, f := range r.formats {
		names = append(names, f.Name())
	}
	sort.Strings(names)
	return names
}

// Lookup finds a format by name.
func (r *Registry) Lookup(name string) (Format, error) {
	for _, f := range r.formats {
		if f.Name() == name {
			return f, nil
		}
	}
	return nil, fmt.Errorf("unknown format %q (known: auto, %s)", name, strings.Join(r.Names(), ", "))
}

// Detect picks the first format whose Sniff accepts head.
func (r *Registry) Detect(head []byte) (Format, string, error) {
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, "", fmt.Errorf("the input is empty")
	}
	var tried []string
	for _, f := range r.formats {
		if ok, why := f.Sniff(head); ok {
			return f, why, nil
		}
		tried = append(tried, f.Name()+": "+f.Cues())
	}
	return nil, "", fmt.Errorf("no known format matches; first line: %q\ncues tried:\n  %s\nuse --format to choose one",
		clip(string(firstLine(head)), 120), strings.Join(tried, "\n  "))
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return bytes.TrimRight(b, "\r")
}
