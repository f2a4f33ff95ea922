// Package benchdata writes the benchmark input: N rows of a psql
// "COPY (SELECT ...) TO STDOUT CSV HEADER" export of a notifications table,
// one row every 2.6 s (a million rows span a month), spread over ten
// recipient domains, both sending IPs and four reply shapes, so that the
// per-minute totals ingest keeps have realistic width. The output is the same
// bytes on every run. scripts/gencsv and the ingest benchmarks both use it.
package benchdata

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

var (
	domains  = []string{"gmail.com", "hotmail.com", "yahoo.com", "outlook.com", "example.org", "icloud.com", "live.com", "example.net", "olive.com", "gmail.com"}
	statuses = []string{"delivered", "delivered", "delivered", "delivered", "delivered", "delivered", "delivered", "deferred", "delivered", "bounce"}
	replies  = []string{
		"250 2.0.0 OK  1709647202 d75a77b69052e-42ee0f1c5fbsi1234567qtb.123 - gsmtp",
		"250 2.6.0 <20240305140003.7c1d2e@mail.example.com> Queued mail for delivery",
		`"451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775)"`,
		"550 5.1.1 The email account that you tried to reach does not exist.",
	}
)

// Header is the export's header line, without the newline.
const Header = "id,created_at,email,status,response,ip,message_id,attempt"

// WriteExport writes the header and rows data rows.
func WriteExport(out io.Writer, rows int) error {
	w := bufio.NewWriterSize(out, 1<<20)
	fmt.Fprintln(w, Header)
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < rows; i++ {
		ts := base.Add(time.Duration(i) * 2593 * time.Millisecond)
		d := domains[i%len(domains)]
		st := statuses[(i/7)%len(statuses)]
		reply := replies[0]
		switch {
		case st == "deferred":
			reply = replies[2]
		case st == "bounce":
			reply = replies[3]
		case d == "hotmail.com" || d == "outlook.com" || d == "live.com":
			reply = replies[1]
		}
		fmt.Fprintf(w, "%d,%s,user%d@%s,%s,%s,203.0.113.%d,m%x.filter,%d\n",
			i+1, ts.Format("2006-01-02 15:04:05.999999-07"), i, d, st, reply, 7+(i%2)*3, i*2654435761, 1+i%3/2)
	}
	return w.Flush()
}
