package ingest

import (
	"slices"
	"testing"
)

// Every sample must be claimed by its own format and by no other, so
// auto-detection cannot confuse them whatever the registry order. The
// catch-all CSV reader also accepts CSV-shaped formats; it is last.
func TestEverySampleIsDetectedAsItsOwnFormat(t *testing.T) {
	reg := NewRegistry()
	if last := reg.formats[len(reg.formats)-1].Name(); last != "csv" {
		t.Fatalf("the catch-all csv format must be last, not %s", last)
	}
	cases := []struct {
		file, format string
		csvShaped    bool
	}{
		{"sendgrid-webhook.json", "sendgrid", false},
		{"sql-export.csv", "csv", false},
		{"postfix-maillog.log", "postfix", false},
		{"postfix-maillog-rfc3339.log", "postfix", false},
		{"postfix-maillog-yearroll.log", "postfix", false},
		{"exim-mainlog.log", "exim", false},
		{"powermta-acct.csv", "powermta", true},
		{"kumomta-log.jsonl", "kumomta", false},
		{"snds-export.csv", "snds", false},
		{"snds-ipstatus.csv", "snds-status", false},
		{"sql-minute-counts.csv", "counts", true},
	}
	for _, c := range cases {
		data := readSample(t, c.file)
		var claimed []string
		for _, f := range reg.formats {
			if ok, why := f.Sniff(data); ok {
				claimed = append(claimed, f.Name())
				if why == "" {
					t.Errorf("%s: %s gives no reason", c.file, f.Name())
				}
			}
		}
		want := []string{c.format}
		if c.csvShaped {
			want = append(want, "csv")
		}
		if !slices.Equal(claimed, want) {
			t.Errorf("%s is claimed by %v, want %v", c.file, claimed, want)
		}
		f, _, err := reg.Detect(data)
		if err != nil || f.Name() != c.format {
			t.Errorf("%s detected as %v (%v), want %s", c.file, f, err, c.format)
		}
	}
}

func TestMTADetectionReasons(t *testing.T) {
	cases := []struct {
		head, want string
	}{
		{"Mar  5 14:00:00 mta1 postfix/smtp[1]: 3F2A81C0A1: to=<a@b.c>, status=sent (ok)\n", "syslog lines from postfix/smtp with classic (no year) timestamps"},
		{"2024-03-05T14:00:00.5+00:00 mta1 postfix-out/qmgr[1]: 3F2A81C0A1: removed\n", "syslog lines from postfix-out/qmgr with RFC 3339 timestamps"},
		{"2024-03-05T15:00:00+0100 mta1 postfix/smtp[1]: 3F2A81C0A1: removed\n", "syslog lines from postfix/smtp with journald short-iso timestamps"},
		// A mail log that starts with another daemon's lines.
		{"Mar  5 13:59:59 mta1 dovecot[9]: imap-login: Login\nMar  5 14:00:00 mta1 postfix/submission/smtpd[2]: connect from x[192.0.2.1]\n", "syslog lines from postfix/submission/smtpd with classic (no year) timestamps"},
		{"2024-03-05 14:00:00.123 +0100 [42] 1rhQ2k-0004Fa-2x <= a@b.c\n", "Exim main log lines with pre-4.97 message ids (1rhQ2k-0004Fa-2x)"},
		{"2024-03-05 14:00:00 Start queue run: pid=1\n2024-03-05 14:00:00 1rhQ2k-000000004Fa-2xQb Completed\n", "Exim main log lines with 4.97+ message ids (1rhQ2k-000000004Fa-2xQb)"},
		{"type,timeLogged,rcpt\r\nd,1709647200,a@b.c\r\n", "PowerMTA accounting CSV header (type, timeLogged, ...)"},
		{"type,rcpt,dsnStatus,timeLogged\nd,a@b.c,2.0.0,1709647200\n", "PowerMTA accounting CSV header (type, timeLogged, ...)"},
	}
	reg := NewRegistry()
	for _, c := range cases {
		_, why, err := reg.Detect([]byte(c.head))
		if err != nil || why != c.want {
			t.Errorf("%q: detected because %q (%v), want %q", c.head, why, err, c.want)
		}
	}
	// Lines that only look alike are not claimed.
	for _, head := range []string{
		"Mar  5 14:00:00 mta1 sshd[1]: Accepted publickey for root\n",
		"2024-03-05 14:00:00 something happened\n",
		"type,timeLoggedX,rcpt\nd,1,a@b.c\n",
		"kind,timeLogged,rcpt\nd,1,a@b.c\n",
		`{"nodeid":"n","type":"Delivery"}` + "\n",
	} {
		for _, f := range []Format{postfixFormat{}, eximFormat{}, powerMTAFormat{}, kumoMTAFormat{}} {
			if ok, why := f.Sniff([]byte(head)); ok {
				t.Errorf("%s claims %q (%s)", f.Name(), head, why)
			}
		}
	}
}
