package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestZZBench(t *testing.T) {
	for i := 0; i < 2; i++ {
		f, _ := os.Open("/tmp/lead/1m.csv")
		s, _ := Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
		start := time.Now()
		sum, err := Ingest(context.Background(), s, []Input{{Name: "-", Reader: f}}, Options{Enrich: testEnrich})
		t.Log(time.Since(start), sum.Stored, err)
		s.Close()
		f.Close()
	}
}
