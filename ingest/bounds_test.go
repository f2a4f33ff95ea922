package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// zeroReader yields n zero bytes without holding them.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := int64(len(p))
	if k > z.n {
		k = z.n
	}
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// rowRepeater yields a header and then the same row, n bytes in all.
type rowRepeater struct {
	n   int64
	buf []byte
	off int
}

func (r *rowRepeater) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		if r.off == len(r.buf) {
			r.buf, r.off = []byte("2024-03-05 14:00:00+00,a@b.example,delivered\n"), 0
		}
		c := copy(p[k:], r.buf[r.off:])
		k += c
		r.off += c
		r.n -= int64(c)
	}
	return k, nil
}

func TestGzipBombIsRefused(t *testing.T) {
	cases := []struct {
		name string
		src  io.Reader
		opts Options
	}{
		// Valid rows compress about 1000:1: with a limit of 100x the guard trips.
		{"rows", io.MultiReader(strings.NewReader("created_at,email,status\n"), &rowRepeater{n: 256 << 20}), Options{MaxExpansion: 100}},
		// Zeros: refused one way or another, never read into memory.
		{"zeros", io.MultiReader(strings.NewReader("created_at,email,status\n"), &zeroReader{n: 64 << 20}), Options{Format: "csv"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var bomb bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
			io.Copy(zw, c.src)
			zw.Close()
			s := openTemp(t)
			c.opts.Enrich = testEnrich
			sum, err := Ingest(context.Background(), s, []Input{{Name: "bomb.gz", Reader: bytes.NewReader(bomb.Bytes())}}, c.opts)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if err == nil {
				t.Fatalf("a %d KiB gzip bomb was not refused", bomb.Len()>>10)
			}
			if c.name == "rows" && !errors.Is(err, ErrExpansion) {
				t.Errorf("err = %v, want ErrExpansion", err)
			}
			if sum.Stored > 1 {
				t.Errorf("stored %d events", sum.Stored)
			}
			if ms.HeapInuse > 200<<20 {
				t.Errorf("heap in use %d MiB while refusing the bomb", ms.HeapInuse>>20)
			}
			t.Logf("%d KiB compressed: %v", bomb.Len()>>10, err)
		})
	}
}

func TestExpansionGuardRatio(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	io.Copy(zw, &zeroReader{n: 512 << 20})
	zw.Close()
	o, err := openInput(Input{Name: "z.gz", Reader: bytes.NewReader(bomb.Bytes())}, 100)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, o.r)
	if !errors.Is(err, ErrExpansion) {
		t.Fatalf("read %d bytes, err %v; want ErrExpansion", n, err)
	}
	if n > expansionAllowance+(4<<20) {
		t.Errorf("read %d MiB before stopping", n>>20)
	}
}

func TestCSVWithoutLineBreaksIsBounded(t *testing.T) {
	s := openTemp(t)
	// A header, then 100 MiB with no line break: one endless field.
	r := io.MultiReader(strings.NewReader("created_at,email,status\n2024-03-05 14:00:00+00,a@b.example,"), &zeroReader{n: 100 << 20})
	var ms runtime.MemStats
	_, err := Ingest(context.Background(), s, []Input{{Name: "long.csv", Reader: r}}, Options{Enrich: testEnrich})
	runtime.ReadMemStats(&ms)
	if err == nil || !strings.Contains(err.Error(), "line 2 is longer than 16 MiB") {
		t.Fatalf("err = %v, want the line-length error naming line 2", err)
	}
	if ms.HeapInuse > 400<<20 {
		t.Errorf("heap in use %d MiB", ms.HeapInuse>>20)
	}
}

func TestJSONLinesLongLineIsBounded(t *testing.T) {
	// A good SendGrid event, a 100 MiB line, another good event.
	good := `{"email":"a@hotmail.com","timestamp":1709647200,"event":"delivered","sg_event_id":"e%d","ip":"203.0.113.7","response":"250 OK"}` + "\n"
	r := io.MultiReader(strings.NewReader(fmt.Sprintf(good, 1)), strings.NewReader(`{"sg_event_id":"x","pad":"`),
		&zeroReader{n: 100 << 20}, strings.NewReader("\"}\n"), strings.NewReader(fmt.Sprintf(good, 2)))
	s := openTemp(t)
	sum, err := Ingest(context.Background(), s, []Input{{Name: "big.jsonl", Reader: r}}, Options{Enrich: testEnrich, Format: "sendgrid"})
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stored != 2 || sum.Rejected != 1 || !strings.Contains(sum.RejectReasons[0].Reason, "line longer than 64 MiB") {
		t.Fatalf("stored %d rejected %d reasons %+v", sum.Stored, sum.Rejected, sum.RejectReasons)
	}
	if ms.HeapInuse > 200<<20 {
		t.Errorf("heap in use %d MiB", ms.HeapInuse>>20)
	}
}

// peakHeap runs fn while sampling the heap, and returns the largest seen.
func peakHeap(fn func()) uint64 {
	runtime.GC() // what earlier tests left is not this test's
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak
}

// arrayOfEvents streams `[ev, ev, ...]` with n SendGrid events.
type arrayOfEvents struct {
	n, i int
	buf  []byte
}

func (a *arrayOfEvents) Read(p []byte) (int, error) {
	k := 0
	for k < len(p) {
		if len(a.buf) == 0 {
			switch {
			case a.i == 0:
				a.buf = []byte("[")
			case a.i > a.n:
				if k == 0 {
					return 0, io.EOF
				}
				return k, nil
			case a.i == a.n:
				a.buf = []byte("]")
			default:
			}
			if a.i > 0 && a.i < a.n {
				a.buf = fmt.Appendf(nil, `{"email":"u%d@hotmail.com","timestamp":%d,"event":"delivered","sg_event_id":"e%d","ip":"203.0.113.7","response":"250 OK"},`, a.i, 1709647200+a.i/100, a.i)
			}
			a.i++
		}
		c := copy(p[k:], a.buf)
		a.buf = a.buf[c:]
		k += c
	}
	return k, nil
}

func TestJSONArrayOfAMillionObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("a million events; -short skips it")
	}
	s := openTemp(t)
	var sum *RunSummary
	var err error
	peak := peakHeap(func() {
		sum, err = Ingest(context.Background(), s, []Input{{Name: "post.json", Reader: &arrayOfEvents{n: 1_000_001}}}, Options{Enrich: testEnrich})
	})
	if err != nil {
		t.Fatal(err)
	}
	// The last element before "]" ends with a comma: one malformed record, the rest stored.
	if sum.Stored < 999_999 || sum.Read != sum.Stored+sum.Duplicates+sum.Rejected {
		t.Fatalf("read %d stored %d rejected %d", sum.Read, sum.Stored, sum.Rejected)
	}
	if peak > 200<<20 {
		t.Errorf("peak heap %d MiB for a one-line array of a million objects", peak>>20)
	}
	t.Logf("1M-object JSON array: stored %d, peak heap %d MiB", sum.Stored, peak>>20)
}

func TestDeeplyNestedJSONIsRejected(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000)
	in := `{"email":"a@hotmail.com","timestamp":1709647200,"event":"delivered","sg_event_id":"x1"}` + "\n" +
		`{"sg_event_id":"x2","n":` + deep + "}\n" +
		`{"email":"b@hotmail.com","timestamp":1709647200,"event":"delivered","sg_event_id":"x3"}` + "\n"
	s := openTemp(t)
	sum, err := Ingest(context.Background(), s, []Input{{Name: "deep.jsonl", Reader: strings.NewReader(in)}}, Options{Enrich: testEnrich, Format: "sendgrid"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Stored != 2 || sum.Rejected != 1 {
		t.Fatalf("stored %d rejected %d: %+v", sum.Stored, sum.Rejected, sum.RejectReasons)
	}
}

func TestCSVWithAMillionColumns(t *testing.T) {
	header := "created_at,email,status" + strings.Repeat(",x", 1_000_000) + "\n"
	row := "2024-03-05 14:00:00+00,a@hotmail.com,delivered" + strings.Repeat(",1", 1_000_000) + "\n"
	s := openTemp(t)
	// Detection looks at the first 64 KiB: a 2 MB header is refused, clearly.
	_, err := Ingest(context.Background(), s, []Input{{Name: "wide.csv", Reader: strings.NewReader(header + row)}}, Options{Enrich: testEnrich})
	if err == nil || !strings.Contains(err.Error(), "no known format matches") {
		t.Fatalf("auto-detection: %v", err)
	}
	// Named with --format, it is refused at the header, before any row is read.
	var sum *RunSummary
	peak := peakHeap(func() {
		sum, err = Ingest(context.Background(), s, []Input{{Name: "wide.csv", Reader: strings.NewReader(header + row + row)}}, Options{Enrich: testEnrich, Format: "csv"})
	})
	if err == nil || !strings.Contains(err.Error(), "the header has 1000003 columns: an event export has a handful (at most 4096 here)") {
		t.Fatalf("--format csv: %v", err)
	}
	if sum.Read != 0 {
		t.Errorf("read %d records", sum.Read)
	}
	if peak > 200<<20 {
		t.Errorf("peak heap %d MiB", peak>>20)
	}
	t.Logf("a million columns: peak heap %d MiB", peak>>20)
}
