package ingest

import "unicode/utf8"

// scanFlatObject walks one JSON object in a single pass without allocating,
// calling member for each key and value. It exists for the million-record
// hot path of flat webhook events, where encoding/json's validate-then-decode
// and its per-field allocations dominated. It is strict: anything that is not
// valid JSON, or that it does not handle plainly, makes it return false, and
// the caller then decodes with encoding/json, which stays the reference.
//
// key is the raw key text (keys with escapes make it return false); val is
// the raw value as written, quotes and brackets included. Kinds: 's' string
// whose text is val without its quotes, 'e' string needing unquoting
// (escapes or non-ASCII), 'n' number, 'b' true/false, 'z' null, 'o' object,
// 'a' array. member returns false to give up.
func scanFlatObject(b []byte, member func(key, val []byte, kind byte) bool) bool {
	s := jsonScan{b: b}
	s.space()
	if !s.eat('{') {
		return false
	}
	s.space()
	if s.eat('}') {
		return s.end()
	}
	for {
		s.space()
		k0 := s.i
		kind, ok := s.str()
		if !ok || kind != 's' {
			return false
		}
		key := s.b[k0+1 : s.i-1]
		s.space()
		if !s.eat(':') {
			return false
		}
		s.space()
		v0 := s.i
		kind, ok = s.value(0)
		if !ok {
			return false
		}
		if !member(key, s.b[v0:s.i], kind) {
			return false
		}
		s.space()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return s.end()
		}
		return false
	}
}

// strPlain marks the bytes a JSON string may hold as they are: not a quote,
// a backslash, a control character or the start of a multi-byte character.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScan) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonScan) end() bool {
	s.space()
	return s.i == len(s.b)
}

// maxScanDepth bounds nesting; deeper input goes to encoding/json.
const maxScanDepth = 32

func (s *jsonScan) value(depth int) (byte, bool) {
	if s.i >= len(s.b) {
		return 0, false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return 'n', s.number()
	case c == 't':
		return 'b', s.literal("true")
	case c == 'f':
		return 'b', s.literal("false")
	case c == 'n':
		return 'z', s.literal("null")
	case c == '{' || c == '[':
		if depth >= maxScanDepth {
			return 0, false
		}
		return s.container(depth)
	}
	return 0, false
}

func (s *jsonScan) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// str reads a string at s.i (which holds the opening quote), validating
// escapes and rejecting control characters as JSON requires.
func (s *jsonScan) str() (byte, bool) {
	if !s.eat('"') {
		return 0, false
	}
	kind := byte('s')
	high := false
	for s.i < len(s.b) {
		// Most bytes need nothing: skip them with one table lookup each.
		for s.i < len(s.b) && strPlain[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			if high && kind == 's' {
				kind = 'e' // non-ASCII: let encoding/json apply its UTF-8 rules
			}
			s.i++
			return kind, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			kind = 'e'
			if s.i+1 >= len(s.b) {
				return 0, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return 0, false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if unhex(h) < 0 {
						return 0, false
					}
				}
				s.i += 6
			default:
				return 0, false
			}
		case c >= utf8.RuneSelf:
			high = true
			s.i++
		default:
			s.i++
		}
	}
	return 0, false
}

func (s *jsonScan) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// number follows JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScan) number() bool {
	s.eat('-')
	if s.eat('0') {
		// no leading zeros
	} else if s.digits() == 0 {
		return false
	}
	if s.eat('.') && s.digits() == 0 {
		return false
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *jsonScan) container(depth int) (byte, bool) {
	open := s.b[s.i]
	s.i++
	s.space()
	if open == '[' {
		if s.eat(']') {
			return 'a', true
		}
		for {
			s.space()
			if _, ok := s.value(depth + 1); !ok {
				return 0, false
			}
			s.space()
			if s.eat(',') {
				continue
			}
			return 'a', s.eat(']')
		}
	}
	if s.eat('}') {
		return 'o', true
	}
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return 0, false
		}
		if _, ok := s.str(); !ok {
			return 0, false
		}
		s.space()
		if !s.eat(':') {
			return 0, false
		}
		s.space()
		if _, ok := s.value(depth + 1); !ok {
			return 0, false
		}
		s.space()
		if s.eat(',') {
			continue
		}
		return 'o', s.eat('}')
	}
}

// arrayElements validates a JSON array and, when elem is not nil, hands it
// each element as written, without copying. It reports the element count and
// whether b is exactly one valid array.
func arrayElements(b []byte, elem func([]byte)) (int, bool) {
	s := jsonScan{b: b}
	s.space()
	if !s.eat('[') {
		return 0, false
	}
	s.space()
	if s.eat(']') {
		return 0, s.end()
	}
	n := 0
	for {
		s.space()
		v0 := s.i
		if _, ok := s.value(1); !ok {
			return n, false
		}
		n++
		if elem != nil {
			elem(s.b[v0:s.i])
		}
		s.space()
		if s.eat(',') {
			continue
		}
		if s.eat(']') {
			return n, s.end()
		}
		return n, false
	}
}
