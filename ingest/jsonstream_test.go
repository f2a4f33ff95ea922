package ingest

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestJSONShapes feeds the shapes ESP archives come in through
// parseJSONShaped and checks which records come out, numbered how.
func TestJSONShapes(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		records string // "line:n" of each record, in order
		rejects string // "line:start of the reason" of the one reject expected
	}{
		{"json lines", "{\"n\":1}\n\n{\"n\":2}\r\n", "1:1 3:2", ""},
		{"byte order mark", "\ufeff{\"n\":1}\n", "1:1", ""},
		{"array", "[{\"n\":1},\n {\"n\":2}]", "1:1 2:2", ""},
		{"a line holding a POST body", "{\"n\":1}\n[{\"n\":2},{\"n\":3}]\n", "1:1 2:2 2:3", ""},
		{"pretty-printed objects one after another", "{\n  \"n\": 1\n}\n{\n  \"n\": 2\n}\n", "1:1 2:2", ""},
		{"pretty-printed wrapper, paging first", "{\n \"paging\": {\"next\": \"x\"},\n \"items\": [\n  {\"n\": 1},\n  {\"n\": 2}\n ]\n}", "1:1 2:2", ""},
		{"wrapper per line", "{\"items\":[{\"n\":1},{\"n\":2}],\"paging\":{}}\n{\"n\":3}\n", "1:1 1:2 2:3", ""},
		// An object that merely has a nested "items" key is one record, rebuilt whole.
		{"nested key that is not a wrapper", "{\n \"n\": 4,\n \"x\": {\"items\": [1]}\n}", "1:4", ""},
		{"wrapper that is not an array", "{\"items\":{\"n\":1}}\n{\"n\":2}\n", "2:2", "1:\"items\" holds {"},
		// A broken first line must not turn the file into one unreadable value.
		{"broken first line", "{\"n\":1,,}\n{\"n\":2}\n", "2:2", "1:invalid character"},
		{"broken POST body line", "{\"n\":0}\n[{\"n\":1},{\"n\":2}\n{\"n\":3}\n", "1:0 3:3", "2:invalid JSON at byte 16: unexpected end of JSON input"},
		{"POST body line nested deeper than the scanner goes", "{\"n\":0}\n[{\"n\":5,\"x\":" + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "}]\n", "1:0 2:5", ""},
		{"broken array", "[{\"n\":1},{\"n\":2,]", "1:1", "2:record 2: invalid JSON at byte 15"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sink := &collectSink{}
			parse := func(raw []byte) ([]Event, string) {
				var v struct{ N json.Number }
				if err := json.Unmarshal(raw, &v); err != nil {
					return nil, err.Error()
				}
				return []Event{{Word: v.N.String()}}, ""
			}
			opts := &ParseOptions{Source: "t", TZ: time.UTC, Status: NewStatusMap(nil)}
			if err := parseJSONShaped(context.Background(), strings.NewReader(c.in), opts, sink, []string{"items"}, parse); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range sink.events {
				got = append(got, strings.Join([]string{itoa(e.Line), e.Word}, ":"))
			}
			if g := strings.Join(got, " "); g != c.records {
				t.Errorf("records %q, want %q", g, c.records)
			}
			var rej []string
			for _, r := range sink.rejects {
				rej = append(rej, itoa(r.Line)+":"+r.Reason)
			}
			switch {
			case c.rejects == "" && len(rej) > 0:
				t.Errorf("rejects %q, want none", rej)
			case c.rejects != "" && (len(rej) != 1 || !strings.HasPrefix(rej[0], c.rejects)):
				t.Errorf("rejects %q, want one starting %q", rej, c.rejects)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestHasJSONKey(t *testing.T) {
	cases := []struct {
		in   string
		key  string
		want bool
	}{
		{`{"eventType":"Send"}`, "eventType", true},
		{`{"eventType" : "Send"}`, "eventType", true},
		{`{"Message":"{\"eventType\":\"Send\"}"}`, "eventType", true},
		{`{"Body":"{\"Message\":\"{\\\"eventType\\\":\\\"Send\\\"}\"}"}`, "eventType", true},
		{`{"x":"eventType"}`, "eventType", false},
		{`{"myeventType":1}`, "eventType", false},
		{`{"eventTypes":1}`, "eventType", false},
	}
	for _, c := range cases {
		if got := hasJSONKey([]byte(c.in), c.key); got != c.want {
			t.Errorf("hasJSONKey(%s, %s) = %v", c.in, c.key, got)
		}
	}
}

// FuzzArrayElements holds the array splitter to encoding/json: what it
// accepts, json.Unmarshal must accept with the same elements.
func FuzzArrayElements(f *testing.F) {
	for _, s := range []string{`[]`, `[1, "a", {"b": [null, true]}]`, ` [ {"x":"\u00e9"} ] `, `[1,]`, `[1 2]`, `[{"a":1}`, `["\x"]`, `[-01]`, `[1e5, -0.5E-3]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got [][]byte
		n, ok := arrayElements(b, func(e []byte) { got = append(got, e) })
		if !ok {
			return
		}
		var want []json.RawMessage
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("accepted %q, encoding/json says %v", b, err)
		}
		if n != len(want) || len(got) != len(want) {
			t.Fatalf("%d elements, encoding/json %d: %q", n, len(want), b)
		}
		for i := range want {
			if string(got[i]) != string(want[i]) {
				t.Fatalf("element %d %q, encoding/json %q", i, got[i], want[i])
			}
		}
	})
}
