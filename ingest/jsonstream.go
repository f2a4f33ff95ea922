package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

func jsonErr(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return err.Error()
}

// recordParser turns one JSON record into zero or more events, or says why not.
// The returned slice may be reused by the next call.
type recordParser func(raw []byte) ([]Event, string)

// parseJSONRecords streams JSON input in the shapes ESP webhooks and exports
// come in; see parseJSONShaped.
// MaxJSONLine bounds one line of JSON-lines input, which is held in memory
// while its record is decoded; a larger POST body belongs on lines of its own.
const MaxJSONLine = 64 << 20

func parseJSONRecords(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink, parse recordParser) error {
	return parseJSONShaped(ctx, r, opts, sink, nil, parse)
}

// parseJSONShaped streams JSON input in any of the shapes ESP webhook archives
// and API exports come in:
//   - a top-level array (one POST body), numbered by record;
//   - one JSON value per line (an archive), numbered by line, where a line
//     holding an array is a POST body whose elements are records;
//   - pretty-printed values one after another (an API page saved with curl),
//     numbered by record.
//
// An object with one of the wrapper keys holding an array (Mailgun's
// {"items": [...], "paging": {...}}) stands for its elements; the array is
// streamed, so a wrapper of any size is never held in memory whole.
func parseJSONShaped(ctx context.Context, r io.Reader, opts *ParseOptions, sink Sink, wrappers []string, parse recordParser) error {
	br := bufio.NewReaderSize(r, 256<<10)
	first, err := peekNonSpace(br)
	if err != nil {
		return err
	}
	emit := func(line int64, raw []byte) {
		var evs []Event
		reason := safely(func() string {
			var r string
			evs, r = parse(raw)
			return r
		})
		if reason != "" {
			sink.Reject(line, string(raw), reason)
			return
		}
		for i := range evs {
			evs[i].Line = line
			sink.Event(&evs[i])
		}
	}
	if first == '[' || (first == '{' && !firstLineComplete(br)) {
		return parseJSONStream(ctx, br, opts, sink, wrappers, emit)
	}
	var wrapperCues [][]byte
	for _, w := range wrappers {
		wrapperCues = append(wrapperCues, []byte(strconv.Quote(w)))
	}
	var line int64
	var long []byte
	for {
		if line&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		// ReadSlice does not copy: records are decoded before the next read,
		// and whatever is kept of them is copied out.
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], b...)
			tooLong := false
			for err == bufio.ErrBufferFull {
				b, err = br.ReadSlice('\n')
				if !tooLong && len(long)+len(b) > MaxJSONLine {
					tooLong = true // keep reading to the line's end, keeping nothing
				}
				if !tooLong {
					long = append(long, b...)
				}
			}
			if tooLong {
				line++
				sink.Reject(line, clip(string(long), 1024), fmt.Sprintf("line longer than %d MiB: not one webhook record or POST body; skipped to its end", MaxJSONLine>>20))
				long = long[:0]
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return fmt.Errorf("%s: %w", opts.Source, err)
				}
				continue
			}
			b = long
		}
		if len(b) > 0 {
			line++
			t := bytes.TrimSpace(b)
			switch {
			case len(t) == 0:
			case t[0] == '[':
				// A POST body. The array is checked whole first so that a
				// broken one is one reject, not some records and a reject;
				// encoding/json judges what the scanner does not take.
				if _, ok := arrayElements(t, nil); ok {
					arrayElements(t, func(raw []byte) { emit(line, raw) })
				} else if arr, uerr := splitArray(t); uerr != nil {
					sink.Reject(line, string(t), jsonErr(uerr))
				} else {
					for _, raw := range arr {
						emit(line, raw)
					}
				}
			case containsAny(t, wrapperCues):
				n := line
				if werr := walkJSONValue(json.NewDecoder(bytes.NewReader(t)), wrappers, func(raw []byte) error { emit(n, raw); return nil }); werr != nil {
					sink.Reject(line, string(t), jsonErr(werr))
				}
			default:
				emit(line, t)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", opts.Source, err)
		}
	}
}

// parseJSONStream reads a sequence of JSON values (usually one array or one
// pretty-printed object), numbering records as it goes. A syntax error ends
// the stream: what is left becomes one reject, since JSON cannot resynchronise.
func parseJSONStream(ctx context.Context, br *bufio.Reader, opts *ParseOptions, sink Sink, wrappers []string, emit func(int64, []byte)) error {
	dec := json.NewDecoder(br)
	var n int64
	record := func(raw []byte) error {
		n++
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		emit(n, raw)
		return nil
	}
	for {
		err := walkJSONValue(dec, wrappers, record)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rest, _ := io.ReadAll(io.MultiReader(dec.Buffered(), br))
			sink.Reject(n+1, clip(string(rest), 1<<20), fmt.Sprintf("record %d: %s; the rest of the input could not be read", n+1, jsonErr(err)))
			return nil
		}
	}
}

// walkJSONValue reads one value from dec: an array yields its elements, an
// object holding a wrapper key yields that array's elements, and any other
// object is one record.
func walkJSONValue(dec *json.Decoder, wrappers []string, record func([]byte) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			if err := record(raw); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	case json.Delim('{'):
	default:
		return fmt.Errorf("expected a JSON object or array, found %v", tok)
	}
	// The object is rebuilt key by key so that wrapper arrays can be streamed
	// while any other object is still handed over whole.
	obj := []byte{'{'}
	wrapped := false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		k, _ := kt.(string)
		if isWrapperKey(k, wrappers) {
			vt, err := dec.Token()
			if err != nil {
				return err
			}
			if vt == json.Delim('[') {
				for dec.More() {
					var raw json.RawMessage
					if err := dec.Decode(&raw); err != nil {
						return err
					}
					if err := record(raw); err != nil {
						return err
					}
				}
				if _, err := dec.Token(); err != nil {
					return err
				}
				wrapped = true
				continue
			}
			if d, ok := vt.(json.Delim); ok {
				return fmt.Errorf("%q holds %v, expected an array of records", k, d)
			}
			if !wrapped {
				obj = appendMember(obj, k, mustMarshal(vt))
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if !wrapped {
			obj = appendMember(obj, k, raw)
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if !wrapped {
		if len(obj) > 1 {
			obj = obj[:len(obj)-1]
		}
		return record(append(obj, '}'))
	}
	return nil
}

func splitArray(b []byte) ([]json.RawMessage, error) {
	var arr []json.RawMessage
	err := json.Unmarshal(b, &arr)
	return arr, err
}

func isWrapperKey(k string, wrappers []string) bool {
	for _, w := range wrappers {
		if k == w {
			return true
		}
	}
	return false
}

func appendMember(obj []byte, k string, v []byte) []byte {
	obj = strconv.AppendQuote(obj, k)
	obj = append(obj, ':')
	obj = append(obj, v...)
	return append(obj, ',')
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func containsAny(b []byte, cues [][]byte) bool {
	for _, c := range cues {
		if bytes.Contains(b, c) {
			return true
		}
	}
	return false
}

// firstLineComplete reports whether the first line of br is a whole JSON
// value (JSON lines) rather than the start of a pretty-printed one. A first
// line that is neither (a broken record) counts as JSON lines so the rest of
// the file is still read line by line.
func firstLineComplete(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	} else if len(b) == br.Size() {
		// A first line longer than the buffer is one long record.
		return true
	}
	t := bytes.TrimSpace(b)
	t = bytes.TrimPrefix(t, []byte("\ufeff"))
	if json.Valid(t) {
		return true
	}
	if len(t) == 0 {
		return false
	}
	switch t[len(t)-1] {
	case '{', '[', ',', ':':
		return false
	}
	return true
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			if err == io.EOF {
				return 0, nil
			}
			return 0, err
		}
		c := b[i-1]
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			if c == 0xef && i == 1 { // UTF-8 byte order mark
				br.Discard(3)
				i = 0
				continue
			}
			return c, nil
		}
	}
}

// hasJSONKey reports whether key occurs in b as an object key, also inside
// JSON that is itself a string value (escaped quotes, at any depth), as SNS
// and SQS envelopes carry the event.
func hasJSONKey(b []byte, key string) bool {
	k := []byte(key)
	for off := 0; off < len(b); {
		i := bytes.Index(b[off:], k)
		if i < 0 {
			return false
		}
		i += off
		off = i + 1
		if i == 0 || b[i-1] != '"' {
			continue
		}
		j := i + len(k)
		for j < len(b) && b[j] == '\\' {
			j++
		}
		if j >= len(b) || b[j] != '"' {
			continue
		}
		j++
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n') {
			j++
		}
		if j < len(b) && b[j] == ':' {
			return true
		}
	}
	return false
}

// jsonShape names the layout of a JSON head for detection messages.
func jsonShape(head []byte) (string, bool) {
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(t) == 0 {
		return "", false
	}
	switch t[0] {
	case '[':
		return "a JSON array", true
	case '{':
		if bytes.Contains(firstLine(t), []byte(":")) {
			return "JSON lines", true
		}
		return "pretty-printed JSON", true
	}
	return "", false
}

// flexString accepts a JSON string, number or boolean as text: ESPs send ids,
// codes and timestamps sometimes quoted and sometimes not.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return fmt.Errorf("expected a string or number, found %s", clip(string(b), 20))
	}
	*f = flexString(b)
	return nil
}

// flexInt reads a whole number given as a JSON number or a numeric string.
func flexInt(s flexString, what string) (int, string) {
	v := strings.TrimSpace(string(s))
	if v == "" {
		return 0, ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Sprintf("%s %q is not a whole number", what, clip(v, 20))
	}
	return n, ""
}
