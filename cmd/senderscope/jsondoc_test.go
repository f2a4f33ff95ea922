package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/senderscope/senderscope/analyze"
	"github.com/senderscope/senderscope/checks"
	"github.com/senderscope/senderscope/ingest"
	"github.com/senderscope/senderscope/report"
)

// jsonOutputs are the types each command prints with -o json, in the order
// the document lists them.
var jsonOutputs = []struct {
	command string
	value   any
	note    string
}{
	{"ingest", ingest.RunSummary{}, "the run's summary"},
	{"summary", ingest.Overview{}, "what the database holds"},
	{"spikes", analyze.SpikeReport{}, ""},
	{"onset", []analyze.Onset{}, "an array, one object per provider and IP"},
	{"rates", analyze.RateReport{}, ""},
	{"simulate", analyze.SimReport{}, ""},
	{"shape", analyze.ShapePlan{}, ""},
	{"classify FILE", []analyze.Classification{}, "an array in input order, one object per reply"},
	{"classify", analyze.DeferralReport{}, "database mode"},
	{"check", checks.Report{}, "check spf|dkim|dmarc|... print only that part (e.g. check spf prints the spf object)"},
	{"investigate", report.InvestigationView{}, ""},
	{"ticket", analyze.Ticket{}, ""},
	{"report", report.IncidentView{}, ""},
}

var timeType = reflect.TypeOf(time.Time{})

// jsonType names a type as JSON sees it.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return "string (RFC 3339 time, UTC)"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string (base64)"
		}
		return "array of " + jsonType(t.Elem())
	case t.Kind() == reflect.Map:
		return "object: " + jsonType(t.Key()) + " -> " + jsonType(t.Elem())
	case t.Kind() == reflect.Struct:
		return "object"
	case t.Kind() == reflect.Interface:
		return "any"
	}
	return t.Kind().String()
}

// describe writes the fields of a struct type, nested, once per type.
func describe(b *strings.Builder, t reflect.Type, depth int, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == timeType || seen[t] {
		return
	}
	seen[t] = true
	defer delete(seen, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			describe(b, f.Type, depth, seen)
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := ""
		if strings.Contains(opts, "omitempty") {
			omit = ", omitted when empty"
		}
		fmt.Fprintf(b, "%s- `%s`: %s%s\n", strings.Repeat("  ", depth), name, jsonType(f.Type), omit)
		describe(b, f.Type, depth+1, seen)
	}
}

func jsonDoc() string {
	var b strings.Builder
	b.WriteString("# JSON output\n\n")
	b.WriteString("Every command's `-o json` (`report --format json`) prints one JSON value, described here field by field.\n")
	b.WriteString("Field names are `snake_case` and stable: renaming or removing one is a breaking change. New fields may be\n")
	b.WriteString("added. Times are RFC 3339 in UTC. This file is generated from the Go types by\n")
	b.WriteString("`go test ./cmd/senderscope -run TestJSONDoc -update`, and the test fails when it is out of date.\n")
	for _, o := range jsonOutputs {
		t := reflect.TypeOf(o.value)
		fmt.Fprintf(&b, "\n## `senderscope %s -o json`\n\n", o.command)
		head := jsonType(t)
		if o.note != "" {
			head += " (" + o.note + ")"
		}
		fmt.Fprintf(&b, "%s%s\n\n", strings.ToUpper(head[:1]), head[1:])
		describe(&b, t, 0, map[reflect.Type]bool{})
	}
	return b.String()
}

func TestJSONDoc(t *testing.T) {
	got := jsonDoc()
	path := filepath.Join("..", "..", "docs", "json.md")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || string(want) != got {
		t.Fatalf("docs/json.md is out of date with the JSON types: run go test ./cmd/senderscope -run TestJSONDoc -update")
	}
	// Every field must have a snake_case name, not a Go default.
	for _, line := range strings.Split(got, "\n") {
		if i := strings.Index(line, "- `"); i >= 0 {
			name := line[i+3:]
			name = name[:strings.IndexByte(name, '`')]
			if strings.ToLower(name) != name {
				t.Errorf("field %q has no snake_case json tag", name)
			}
		}
	}
}
