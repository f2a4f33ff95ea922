package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"
)

// genPostfix writes a classic-syslog Postfix log with n delivery (to=)
// records, shaped like a bulk sender's: each message has its cleanup
// message-id= and qmgr from= lines and ends with "removed"; one in ten goes
// to Microsoft, and a third of those is first deferred with 451 4.7.650 and
// delivered on a later try; replies carry the per-message ids real
// receivers put in them. It returns the number of lines written.
func genPostfix(w io.Writer, n int) int {
	base := time.Date(2026, 2, 24, 0, 0, 0, 0, time.UTC)
	lines := 0
	stamp := func(i int) string { return base.Add(time.Duration(i) * 80 * time.Millisecond).Format(time.Stamp) }
	for i, msg := 0, 0; i < n; msg++ {
		qid := fmt.Sprintf("%010X", 0x3F2A81C0A1+msg)
		ts := stamp(i)
		fmt.Fprintf(w, "%s mta1 postfix/cleanup[2212]: %s: message-id=<%d.%s@mail.example.com>\n", ts, qid, msg, qid)
		fmt.Fprintf(w, "%s mta1 postfix/qmgr[1820]: %s: from=<bounces@example.com>, size=10234, nrcpt=1 (queue active)\n", ts, qid)
		lines += 2
		if msg%10 == 0 {
			if msg%30 == 0 && i+1 < n {
				fmt.Fprintf(w, "%s mta1 postfix/smtp[2303]: %s: to=<user%d@hotmail.com>, relay=hotmail-com.olc.protection.outlook.com[52.101.68.38]:25, delay=5.5, delays=0.04/0.02/5.1/0.31, dsn=4.7.650, status=deferred (host hotmail-com.olc.protection.outlook.com[52.101.68.38] said: 451 4.7.650 The mail server [203.0.113.%d] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775) [Name=Protocol Filter Agent][AGT=PFA][MxId=11BD5B61%08X] [AMS0EPF0000019C.eurprd05.prod.outlook.com %s 08DC3D1E%08X] (in reply to MAIL FROM command))\n",
					ts, qid, msg, 10+msg%2, msg, base.Add(time.Duration(i)*80*time.Millisecond).Format("2006-01-02T15:04:05.000Z"), msg)
				i++
				lines++
				ts = stamp(i)
			}
			fmt.Fprintf(w, "%s mta1 postfix/smtp[2302]: %s: to=<user%d@hotmail.com>, relay=hotmail-com.olc.protection.outlook.com[52.101.68.38]:25, delay=2.9, delays=0.04/0.01/0.87/2, dsn=2.6.0, status=sent (250 2.6.0 <%d.%s@mail.example.com> [InternalId=%d, Hostname=DM6PR11MB4459.namprd11.prod.outlook.com] 10234 bytes in 0.215, 46.484 KB/sec Queued mail for delivery -> 250 2.1.5)\n",
				ts, qid, msg, msg, qid, 21233419887456+msg)
		} else {
			fmt.Fprintf(w, "%s mta1 postfix/smtp[2301]: %s: to=<user%d@gmail.com>, relay=gmail-smtp-in.l.google.com[142.251.2.27]:25, delay=1.1, delays=0.05/0.01/0.42/0.6, dsn=2.0.0, status=sent (250 2.0.0 OK  %d d75a77b69052e-%08xqtb.123 - gsmtp)\n",
				ts, qid, msg, 1771891200+i/12, msg)
		}
		fmt.Fprintf(w, "%s mta1 postfix/qmgr[1820]: %s: removed\n", ts, qid)
		i++
		lines += 2
	}
	return lines
}

// BenchmarkIngestPostfix is BenchmarkIngestCSV's counterpart for the log
// side: a million delivery records end to end, parse to committed rows.
func BenchmarkIngestPostfix(b *testing.B) {
	var buf bytes.Buffer
	lines := genPostfix(&buf, 1_000_000)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := Open(context.Background(), filepath.Join(b.TempDir(), "b.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := Ingest(context.Background(), s, []Input{{Name: "-", Reader: bytes.NewReader(data)}}, Options{Enrich: testEnrich, Year: 2026})
		if err != nil || sum.Stored != 1_000_000 {
			b.Fatalf("%v %+v", err, sum)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/1M-records")
	b.ReportMetric(float64(lines), "lines")
}

// BenchmarkParsePostfix measures the parser alone, without the store.
func BenchmarkParsePostfix(b *testing.B) {
	var buf bytes.Buffer
	genPostfix(&buf, 200_000)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	opts := testParseOptions()
	opts.Year = 2026
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := (postfixFormat{}).Parse(context.Background(), bytes.NewReader(data), opts, countSink{&n}); err != nil || n != 200_000 {
			b.Fatal(err, n)
		}
	}
}

func TestGenPostfixIsReadable(t *testing.T) {
	var buf bytes.Buffer
	genPostfix(&buf, 3000)
	opts := testParseOptions()
	opts.Year = 2026
	s := parseBytes(t, postfixFormat{}, buf.Bytes(), opts)
	if len(s.events) != 3000 || len(s.rejects) != 0 {
		t.Fatalf("%d events, rejects %v", len(s.events), s.rejects)
	}
	var deferred, ms int
	for _, e := range s.events {
		if e.Type == TypeDeferred {
			deferred++
			if e.SMTPCode != 451 || e.SendingIP == "" || e.MessageID == "" {
				t.Fatalf("deferral %+v", e)
			}
		}
		if e.Domain == "hotmail.com" {
			ms++
		}
	}
	if deferred < 90 || ms < 300 {
		t.Errorf("%d deferrals and %d Microsoft records in 3000: not the intended shape", deferred, ms)
	}
}
