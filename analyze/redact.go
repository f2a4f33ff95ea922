package analyze

import (
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RedactedLocal is what a redacted address shows instead of its local part.
// Being no valid local part itself, it is never redacted again.
const RedactedLocal = "[redacted]"

// RedactAddresses replaces the local part of every e-mail address in s with
// RedactedLocal and keeps the domain: "550 5.1.1 <jane@outlook.com>: Recipient
// address rejected" becomes "550 5.1.1 <[redacted]@outlook.com>: ...", so text
// meant for a vendor's form or a report carries no customer address while
// the evidence (which provider refused what) stays. It errs on the side of
// hiding: anything shaped like local@domain is treated as an address,
// URL-encoded ("jane%40outlook.com") and quoted ("\"jane doe\"@x") forms too.
func RedactAddresses(s string) string {
	return replaceAddresses(s, func(_, domain string) string { return RedactedLocal + "@" + domain })
}

// HasAddress reports whether s holds anything RedactAddresses would change.
func HasAddress(s string) bool {
	found := false
	replaceAddresses(s, func(local, domain string) string {
		if local != RedactedLocal {
			found = true
		}
		return local + "@" + domain
	})
	return found
}

// replaceAddresses calls repl for every address in s and puts its result in
// the address's place. An address is a non-empty local part, "@" (or "%40")
// and a non-empty domain.
func replaceAddresses(s string, repl func(local, domain string) string) string {
	if !strings.Contains(s, "@") && !strings.Contains(s, "%40") {
		return s
	}
	var b strings.Builder
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		at := 0
		switch {
		case s[i] == '@':
			at = 1
		case s[i] == '%' && i+2 < len(s) && s[i+1] == '4' && s[i+2] == '0':
			at = 3
		default:
			i++
			continue
		}
		start := localStart(s, done, i)
		end := domainEnd(s, i+at)
		if start == i || end == i+at {
			i += at
			continue
		}
		b.WriteString(s[done:start])
		b.WriteString(repl(s[start:i], s[i+at:end]))
		done, i = end, end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// localStart walks back from the "@" at i over a local part, not before min.
func localStart(s string, min, i int) int {
	if i > min && s[i-1] == '"' {
		// A quoted local part may hold spaces: back to the opening quote.
		if q := strings.LastIndexByte(s[min:i-1], '"'); q >= 0 {
			return min + q
		}
	}
	j := i
	for j > min {
		r, size := utf8.DecodeLastRuneInString(s[min:j])
		if !isLocalRune(r) {
			break
		}
		j -= size
	}
	return j
}

// isLocalRune is RFC 5322 atext, a dot, or a letter or digit of an
// internationalized (RFC 6531) local part. "/", "?" and "&" are atext too,
// but in the wild they end a URL's path or query before an encoded address.
func isLocalRune(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		c := byte(r)
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%'*+-=^_`{|}~.", c) >= 0
	case r == utf8.RuneError:
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// domainEnd walks forward from i over a domain name or an address literal.
func domainEnd(s string, i int) int {
	if i < len(s) && s[i] == '[' {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return i + j + 1
		}
		return i
	}
	j := i
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		ok := r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') ||
			r >= utf8.RuneSelf && r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
		if !ok {
			break
		}
		j += size
	}
	// A sentence may end right after the address.
	for j > i && s[j-1] == '.' {
		j--
	}
	return j
}

// RedactStrings applies RedactAddresses to every string reachable from v
// (a pointer), in place: struct fields, slices, arrays, map values and keys.
// A report built from many analyses is redacted as a whole, so a field added
// later cannot leak an address by being forgotten.
func RedactStrings(v any) {
	redactValue(reflect.ValueOf(v), map[uintptr]bool{})
}

func redactValue(v reflect.Value, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		redactValue(v.Elem(), seen)
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if e.Kind() == reflect.Pointer {
			redactValue(e, seen)
			return
		}
		// A value held in an interface cannot be changed in place: copy,
		// redact, put back.
		c := reflect.New(e.Type()).Elem()
		c.Set(e)
		redactValue(c, seen)
		if v.CanSet() {
			v.Set(c)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.CanSet() {
				redactValue(f, seen)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i), seen)
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(v.MapIndex(k))
			redactValue(val, seen)
			nk := reflect.New(k.Type()).Elem()
			nk.Set(k)
			redactValue(nk, seen)
			if !nk.Equal(k) {
				v.SetMapIndex(k, reflect.Value{})
			}
			v.SetMapIndex(nk, val)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(RedactAddresses(v.String()))
		}
	}
}
