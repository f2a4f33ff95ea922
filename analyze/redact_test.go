package analyze

import (
	"strings"
	"testing"
	"time"
)

func TestRedactAddresses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"550 5.1.1 <jane@outlook.com>: Recipient address rejected", "550 5.1.1 <[redacted]@outlook.com>: Recipient address rejected"},
		{"554 delivery error: dd This user doesn't have a aol.com account (thomas.chloe@aol.com) [0]", "554 delivery error: dd This user doesn't have a aol.com account ([redacted]@aol.com) [0]"},
		{"RCPT TO:<first.last+tag@sub.example.co.uk>", "RCPT TO:<[redacted]@sub.example.co.uk>"},
		{"unknown user jane@outlook.com.", "unknown user [redacted]@outlook.com."},
		{"a@b.example and c_d@e.example", "[redacted]@b.example and [redacted]@e.example"},
		{"https://example.com/unsub?u=jane%40outlook.com&x=1", "https://example.com/unsub?[redacted]@outlook.com&x=1"},
		{`"jane doe"@example.com rejected`, `[redacted]@example.com rejected`},
		{"postmaster@[203.0.113.7] said no", "[redacted]@[203.0.113.7] said no"},
		{"josé.garcía@correo.example", "[redacted]@correo.example"},
		{"mailto:dmarc-reports@example.com", "mailto:[redacted]@example.com"},
		{"bounce+jane=outlook.com@esp.example", "[redacted]@esp.example"},
		// Not addresses: nothing on one side of the "@".
		{"meet @ 10:00", "meet @ 10:00"},
		{"user@ nothing", "user@ nothing"},
		{"@example.com", "@example.com"},
		{"451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited", "451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited"},
		{"", ""},
	}
	for _, tt := range tests {
		got := RedactAddresses(tt.in)
		if got != tt.want {
			t.Errorf("RedactAddresses(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if HasAddress(got) {
			t.Errorf("HasAddress(%q) after redaction = true", got)
		}
		if again := RedactAddresses(got); again != got {
			t.Errorf("not idempotent: %q -> %q", got, again)
		}
	}
	if !HasAddress("to jane@outlook.com") || HasAddress("to [redacted]@outlook.com") {
		t.Error("HasAddress tells redacted and unredacted addresses apart wrongly")
	}
}

// TestRedactStrings walks nested values: struct fields, pointers, slices,
// maps (values and keys) and interfaces.
func TestRedactStrings(t *testing.T) {
	type inner struct {
		Reply string
		When  time.Time
	}
	type outer struct {
		Name    string
		Inner   *inner
		List    []inner
		ByKey   map[string]string
		Any     any
		private string
	}
	now := time.Date(2026, 2, 24, 21, 53, 0, 0, time.UTC)
	v := &outer{
		Name:    "from a@x.example",
		Inner:   &inner{Reply: "550 <b@y.example>", When: now},
		List:    []inner{{Reply: "c@z.example"}},
		ByKey:   map[string]string{"d@w.example": "e@v.example"},
		Any:     inner{Reply: "f@u.example"},
		private: "g@t.example",
	}
	RedactStrings(v)
	all := v.Name + v.Inner.Reply + v.List[0].Reply + v.Any.(inner).Reply
	for k, val := range v.ByKey {
		all += k + val
	}
	if HasAddress(all) {
		t.Errorf("an address survived: %q", all)
	}
	if !strings.Contains(all, "[redacted]@y.example") || !strings.Contains(all, "[redacted]@w.example") {
		t.Errorf("domains lost: %q", all)
	}
	if !v.Inner.When.Equal(now) {
		t.Errorf("time changed: %v", v.Inner.When)
	}
	if v.private != "g@t.example" {
		t.Errorf("unexported field touched: %q", v.private)
	}
}
