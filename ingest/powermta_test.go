package ingest

import (
	"strings"
	"testing"
)

func TestPowerMTASample(t *testing.T) {
	data := readSample(t, "powermta-acct.csv")
	s := parseBytes(t, powerMTAFormat{}, data, nil)
	const job = "pw-reset-20240305"
	checkEvents(t, s.events, []wantEvent{
		{line: 2, time: "2024-03-05T14:00:02Z", rcpt: "erin.example@gmail.com", typ: TypeDelivered, word: "d", code: 250, enhanced: "2.0.0",
			reply: "smtp;" + gmailOK, ip: "203.0.113.10", class: job},
		// dsnStatus says 2.0.0; the receiver's own 2.6.0 wins.
		{line: 3, time: "2024-03-05T14:00:03Z", rcpt: "frank.example@hotmail.com", typ: TypeDelivered, word: "d", code: 250, enhanced: "2.6.0",
			reply: "smtp;250 2.6.0 <20240305140003.7c1d2e@mail.example.com> [InternalId=21233419887456, Hostname=…-> 250 2.1.5", ip: "203.0.113.11", class: job},
		{line: 4, time: "2024-03-05T14:00:05Z", rcpt: "alice.example@hotmail.com", typ: TypeDeferred, word: "t", code: 451, enhanced: "4.7.650",
			reply: "smtp;" + msReply650 + " [Name=Protocol Filter Agent]…08DC3D1E4B7A2F19]", ip: "203.0.113.10", class: job},
		{line: 5, time: "2024-03-05T14:00:09Z", rcpt: "bob.example@outlook.com", typ: TypeDeferred, word: "t", code: 451, enhanced: "4.7.650",
			reply: "smtp;" + strings.Replace(msReply650, "203.0.113.10", "203.0.113.11", 1), ip: "203.0.113.11", class: job},
		{line: 6, time: "2024-03-05T14:01:06Z", rcpt: "dan.example@hotmail.com", typ: TypeDeferred, word: "t", code: 451, enhanced: "4.7.652",
			reply: "smtp;451 4.7.652 The mail server [203.0.113.11] has exceeded the maximum number of connections.", ip: "203.0.113.11", class: job},
		{line: 7, time: "2024-03-05T14:01:30Z", rcpt: "gina.example@outlook.com", typ: TypeBounced, word: "b", code: 550, enhanced: "5.7.1",
			reply: "smtp;550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent.…protection.outlook.com]", ip: "203.0.113.10", class: job},
		{line: 8, time: "2024-03-05T14:02:00Z", rcpt: "henry.example@hotmail.com", typ: TypeBounced, word: "b", code: 550, enhanced: "5.5.0",
			reply: "smtp;550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302).…08DC3D1E5C8B3A20]", ip: "203.0.113.11", class: job},
		{line: 9, time: "2024-03-05T14:03:00Z", rcpt: "ivy.example@gmail.com", typ: TypeDeferred, word: "t", code: 421, enhanced: "4.7.28",
			reply: "smtp;421-4.7.28 Gmail has detected an unusual rate of unsolicited mail.…vso.199 - gsmtp", ip: "203.0.113.10", class: job},
		// No dlvSourceIp: the message never left.
		{line: 10, time: "2024-03-05T14:03:20Z", rcpt: "nobody@nomx.example.net", typ: TypeBounced, word: "b", code: 550, enhanced: "5.1.2",
			reply: "smtp;550 5.1.2 no MX or A records for domain nomx.example.net", class: job},
	})
	if len(s.rejects) != 0 || s.zoneless != 0 {
		t.Errorf("rejects %+v, zone-less %d", s.rejects, s.zoneless)
	}
	checkKeys(t, s.events, parseBytes(t, powerMTAFormat{}, data, nil).events)
}

// Traps the sample lacks: other columns in another order, the record types
// beyond d/b/t, the timestamp forms (time_t, "+0100", RFC 3339, zone-less),
// RFC 4180 quoting, a header repeated by concatenated files, bad records.
var powerMTATrapsCSV = strings.ReplaceAll(`type,rcpt,timeLogged,dsnStatus,dsnDiag,dlvSourceIp,dsnAction,queue,jobId,header_Message-Id
r,A.User@Hotmail.com,1709647200,,,,,,job-1,<m1@example.com>
t,a.user@hotmail.com,2024-03-05T14:00:05+00:00,4.7.650 (other),smtp;451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation.,203.0.113.10,delayed,hotmail.com/vmta-10,job-1,<m1@example.com>
tq,,2024-03-05 15:00:06+0100,4.7.0 (other),"smtp;421 4.7.0 Too many connections, ""please"" try later",203.0.113.11,delayed,outlook.com/vmta-11,,
rb,b.user@outlook.com,2024-03-05 14:10:00,5.1.1 (bad destination mailbox address),smtp;550 5.1.1 User unknown,,failed,,job-1,
rs,c.user@live.com,1709647800,4.4.7 (delivery time expired),,,delayed,,job-1,
rs,d.user@msn.com,1709647801,2.0.0 (success),,,relayed,,job-1,
f,e.user@hotmail.com,1709647802,,,,,,job-1,
x,f.user@hotmail.com,1709647803,,,,,,job-1,
d,g.user@hotmail.com,yesterday,,,,,,job-1,
type,timeLogged,rcpt,dlvSourceIp
d,1709647900,h.user@outlook.com,203.0.113.10
`, "\n", "\r\n")

func TestPowerMTATraps(t *testing.T) {
	s := parseBytes(t, powerMTAFormat{}, []byte(powerMTATrapsCSV), nil)
	checkEvents(t, s.events, []wantEvent{
		{line: 2, time: "2024-03-05T14:00:00Z", rcpt: "a.user@hotmail.com", typ: TypeProcessed, word: "r", messageID: "m1@example.com", class: "job-1"},
		{line: 3, time: "2024-03-05T14:00:05Z", rcpt: "a.user@hotmail.com", typ: TypeDeferred, word: "t", code: 451, enhanced: "4.7.650",
			reply: "smtp;451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation.", ip: "203.0.113.10",
			messageID: "m1@example.com", class: "job-1"},
		// A queue-level deferral names no recipient; its queue names the domain.
		{line: 4, time: "2024-03-05T14:00:06Z", rcpt: "", domain: "outlook.com", typ: TypeDeferred, word: "tq", code: 421, enhanced: "4.7.0",
			reply: `smtp;421 4.7.0 Too many connections, "please" try later`, ip: "203.0.113.11"},
		{line: 5, time: "2024-03-05T14:10:00Z", rcpt: "b.user@outlook.com", typ: TypeBounced, word: "rb", code: 550, enhanced: "5.1.1",
			reply: "smtp;550 5.1.1 User unknown", class: "job-1"},
		{line: 6, time: "2024-03-05T14:10:00Z", rcpt: "c.user@live.com", typ: TypeDeferred, word: "rs", enhanced: "4.4.7", class: "job-1"},
		{line: 7, time: "2024-03-05T14:10:01Z", rcpt: "d.user@msn.com", typ: TypeDelivered, word: "rs", enhanced: "2.0.0", class: "job-1"},
		{line: 8, time: "2024-03-05T14:10:02Z", rcpt: "e.user@hotmail.com", typ: TypeComplaint, word: "f", class: "job-1"},
		// After the repeated header, columns are mapped anew.
		{line: 12, time: "2024-03-05T14:11:40Z", rcpt: "h.user@outlook.com", typ: TypeDelivered, word: "d", ip: "203.0.113.10"},
	})
	var got []string
	for _, r := range s.rejects {
		got = append(got, r.Reason)
	}
	want := []string{
		`record type "x" is not a PowerMTA accounting type (d, b, t, tq, r, f, rb, rs)`,
		`timeLogged: "yesterday" is not a date (expected ` + TimeExample + `)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || s.rejects[0].Line != 9 || s.rejects[1].Line != 10 ||
		s.rejects[1].Raw != "d,g.user@hotmail.com,yesterday,,,,,,job-1," {
		t.Errorf("rejects = %+v", s.rejects)
	}
	if s.zoneless != 1 {
		t.Errorf("%d zone-less times, want 1 (line 5)", s.zoneless)
	}
}

func TestPowerMTAHeaderWithoutRecipient(t *testing.T) {
	err := powerMTAFormat{}.Parse(t.Context(), strings.NewReader("type,timeLogged,orig\nd,1709647200,a@b.c\n"), testParseOptions(), &collectSink{})
	if err == nil || !strings.Contains(err.Error(), "the PowerMTA header has no rcpt column (columns: type,timeLogged,orig)") {
		t.Errorf("err = %v", err)
	}
}
