package ingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// KumoMTA writes its logs as zstd-compressed segments: detection sees the
// decompressed records and says the input was compressed.
func TestKumoMTAZstdSegment(t *testing.T) {
	var z bytes.Buffer
	zw, err := zstd.NewWriter(&z)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(readSample(t, "kumomta-log.jsonl"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	s := openTemp(t)
	ctx := context.Background()
	for run, wantStored := range []int64{10, 0} {
		sum, err := Ingest(ctx, s, []Input{{Name: "-", Reader: bytes.NewReader(z.Bytes())}}, Options{Enrich: testEnrich})
		if err != nil {
			t.Fatal(err)
		}
		src := sum.Sources[0]
		if src.Format != "kumomta" || src.Compression != "zstd" || !strings.HasSuffix(src.Detected, "(zstd-compressed)") {
			t.Errorf("run %d: detected %s %q %q", run+1, src.Format, src.Compression, src.Detected)
		}
		if sum.Read != 10 || sum.Stored != wantStored || sum.Duplicates != 10-wantStored || sum.Rejected != 0 {
			t.Errorf("run %d: read %d stored %d duplicates %d rejected %d", run+1, sum.Read, sum.Stored, sum.Duplicates, sum.Rejected)
		}
	}
	checkConsistent(t, s)
	var word, reply string
	var code any
	s.db.QueryRow(`SELECT original_type, smtp_code, reply FROM events_v WHERE recipient = 'carol.example@hotmail.com'`).Scan(&word, &code, &reply)
	if word != "TransientFailure/internal" || code != nil || !strings.HasPrefix(reply, "KumoMTA internal:") {
		t.Errorf("internal failure stored as %q code %v reply %q", word, code, reply)
	}
}

// Classic syslog times take their year from the file's modification time,
// and from the injected clock on stdin; --year overrides both.
func TestPostfixYearFromFileTimeAndClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.log")
	log := "Dec 31 23:59:58 mta1 postfix/smtp[1]: C1D2E3F4A5: to=<a@hotmail.com>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, time.Now(), time.Date(2021, 1, 1, 0, 10, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		name string
		in   Input
		year int
		want string
	}{
		{"file time", Input{Name: path}, 0, "2020-12-31T23:59:58.000Z"},
		{"clock on stdin", Input{Name: "-", Reader: strings.NewReader(log)}, 0, "2018-12-31T23:59:58.000Z"},
		{"--year", Input{Name: path}, 2016, "2016-12-31T23:59:58.000Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openTemp(t)
			sum, err := Ingest(context.Background(), s, []Input{c.in}, Options{Enrich: testEnrich, Now: clock, Year: c.year})
			if err != nil || sum.Stored != 1 {
				t.Fatalf("%v %+v", err, sum)
			}
			var got string
			s.db.QueryRow(`SELECT time FROM events_v`).Scan(&got)
			if got != c.want {
				t.Errorf("time %s, want %s", got, c.want)
			}
		})
	}
}

func TestSendingIPOption(t *testing.T) {
	s := openTemp(t)
	log := "2024-03-05T14:00:00Z mta1 postfix/smtp[1]: C1D2E3F4A5: to=<a@gmail.com>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n"
	_, err := Ingest(context.Background(), s, []Input{{Name: "-", Reader: strings.NewReader(log)}}, Options{SendingIP: "203.0.113"})
	if err == nil || !strings.Contains(err.Error(), `sending IP "203.0.113" is not an IP address`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Ingest(context.Background(), s, []Input{{Name: "-", Reader: strings.NewReader(log)}},
		Options{Enrich: testEnrich, SendingIP: "::ffff:203.0.113.10"}); err != nil {
		t.Fatal(err)
	}
	var ip string
	s.db.QueryRow(`SELECT sending_ip FROM events_v`).Scan(&ip)
	if ip != "203.0.113.10" {
		t.Errorf("sending ip %q, want the canonical 203.0.113.10", ip)
	}
}
