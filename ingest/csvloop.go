package ingest

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// csvRecords reads the records of cr (already past any header) for the CSV
// formats. handle returns "" when it used or skipped the record, a reason
// to reject it, or an error that ends the input. Malformed CSV, rejects and
// a panic in handle keep the record's raw text (tee is cr's source); only a
// record read without error has a line position.
func csvRecords(ctx context.Context, cr *csv.Reader, tee *rawTee, opts *ParseOptions, sink Sink,
	handle func(rec []string, line int64) (string, error)) error {
	prev := cr.InputOffset()
	tee.drop(prev)
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		off := cr.InputOffset()
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fmt.Errorf("%s: %w", opts.Source, err)
			}
			sink.Reject(int64(pe.StartLine), tee.take(prev, off), "malformed CSV: "+pe.Err.Error())
			prev = off
			continue
		}
		l, _ := cr.FieldPos(0)
		line := int64(l)
		var herr error
		reason := safely(func() string {
			r, e := handle(rec, line)
			herr = e
			return r
		})
		if herr != nil {
			return herr
		}
		if reason != "" {
			sink.Reject(line, tee.take(prev, off), reason)
		} else {
			tee.drop(off)
		}
		prev = off
	}
}
