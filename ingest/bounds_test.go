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
