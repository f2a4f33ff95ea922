package ingest

import (
	"strings"
	"testing"
)

// validEnhancedBySplit is the plain definition validEnhanced implements
// without allocating: three dot-separated parts, class 2, 4 or 5, then one to
// three digits twice.
func validEnhancedBySplit(c string) bool {
	parts := strings.Split(c, ".")
	if len(parts) != 3 || len(c) < 5 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

func TestValidEnhancedMatchesDefinition(t *testing.T) {
	n := 0
	var walk func(prefix string, alphabet string, max int)
	walk = func(prefix, alphabet string, max int) {
		if got, want := validEnhanced(prefix), validEnhancedBySplit(prefix); got != want {
			t.Fatalf("validEnhanced(%q) = %v, want %v", prefix, got, want)
		}
		n++
		if len(prefix) == max {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			walk(prefix+alphabet[i:i+1], alphabet, max)
		}
	}
	walk("", "245.1x", 7)
	walk("", "5.0", 10)
	if n < 100_000 {
		t.Fatalf("only %d strings tried", n)
	}
}
