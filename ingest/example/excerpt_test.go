package example_test

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/senderscope/senderscope/ingest/example"
)

var update = flag.Bool("update", false, "rewrite the committed excerpt testdata/incident/notifications.csv.gz")

// excerptPath is the repository's bundled incident, shared with the CLI's tests.
var excerptPath = filepath.Join("..", "..", "testdata", "incident", "notifications.csv.gz")

func excerptCSV(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := example.Write(&buf, example.Options{From: example.Facts.ExcerptFrom, To: example.Facts.ExcerptTo}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestExcerpt checks the committed excerpt against a fresh generation; with
// -update it rewrites it. The gzip header carries no name and no time, so
// the file depends only on the data (and on compress/flate, which is why the
// comparison is of the decompressed bytes).
func TestExcerpt(t *testing.T) {
	want := excerptCSV(t)
	if *update {
		var gz bytes.Buffer
		zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write(want); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(excerptPath, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d bytes (%d uncompressed)", excerptPath, gz.Len(), len(want))
	}

	f, err := os.Open(excerptPath)
	if err != nil {
		t.Fatalf("%v (regenerate with go test ./ingest/example -run TestExcerpt -update)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() || zr.Extra != nil {
		t.Errorf("gzip header has name %q, comment %q, time %v, extra %q: want none", zr.Name, zr.Comment, zr.ModTime, zr.Extra)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: %d bytes, a fresh generation %d (regenerate with -update)", excerptPath, len(got), len(want))
	}
	if st, err := f.Stat(); err == nil && st.Size() > 3<<20 {
		t.Errorf("%s is %d bytes: keep it at or under 3 MiB", excerptPath, st.Size())
	}
	records, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows := len(records) - 1; rows != example.Facts.ExcerptRows {
		t.Errorf("excerpt has %d rows, Facts.ExcerptRows = %d", rows, example.Facts.ExcerptRows)
	}
}
