package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	msReply650 = "451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. " +
		"For e-mail delivery information, see https://aka.ms/postmaster (S775)"
	gmailOK = "250 2.0.0 OK  1709647202 d75a77b69052e-42ee0f1c5fbsi1234567qtb.123 - gsmtp"
)

// The shared sample's events, whatever the timestamp style: classic syslog
// and RFC 3339 lines carry the same records.
func postfixSampleWant(stamp func(hms string) string, qid func(short string) string) []wantEvent {
	return []wantEvent{
		{line: 5, time: stamp("14:00:01"), rcpt: "erin.example@gmail.com", typ: TypeDelivered, word: "sent", code: 250, enhanced: "2.0.0",
			reply: gmailOK, messageID: "20240305140000.3f2a81@mail.example.com"},
		{line: 7, time: stamp("14:00:03"), rcpt: "frank.example@hotmail.com", typ: TypeDelivered, word: "sent", code: 250, enhanced: "2.6.0",
			reply: "250 2.6.0 <20240305140003.7c1d2e@mail.example.com> [InternalId=…Queued mail for delivery -> 250 2.1.5", messageID: qid("4A3B92D1B2")},
		// The reply's nested parentheses run to the last ')'; Postfix's "(in
		// reply to ...)" is not the receiver's text.
		{line: 8, time: stamp("14:00:05"), rcpt: "alice.example@hotmail.com", typ: TypeDeferred, word: "deferred", code: 451, enhanced: "4.7.650",
			reply: msReply650 + " [Name=Protocol Filter Agent]…[AMS0EPF0000019C.eurprd05.prod.outlook.com 2024-03-05T14:00:05.598Z 08DC3D1E4B7A2F19]",
			ip:    "203.0.113.10", messageID: qid("5B4CA3E2C3")},
		{line: 9, time: stamp("14:00:09"), rcpt: "bob.example@outlook.com", typ: TypeDeferred, word: "deferred", code: 451, enhanced: "4.7.650",
			reply: strings.Replace(msReply650, "203.0.113.10", "203.0.113.11", 1), ip: "203.0.113.11", messageID: qid("6C5DB4F3D4")},
		// A connection failure: Postfix's DSN status, no SMTP code.
		{line: 10, time: stamp("14:00:30"), rcpt: "nobody@nomx.example.net", typ: TypeDeferred, word: "deferred", enhanced: "4.4.1",
			reply: "connect to mx.nomx.example.net[198.51.100.25]:25: Connection timed out", messageID: qid("7D6EC504E5")},
		{line: 11, time: stamp("14:00:35"), rcpt: "other@nomx.example.net", typ: TypeDeferred, word: "deferred", enhanced: "4.4.1",
			reply: "delivery temporarily suspended: connect to mx.nomx.example.net[198.51.100.25]:25: Connection timed out", messageID: qid("A091F837B8")},
		{line: 12, time: stamp("14:01:12"), rcpt: "dan.example@hotmail.com", typ: TypeDeferred, word: "deferred", code: 451, enhanced: "4.7.652",
			reply: "451 4.7.652 The mail server [203.0.113.11] has exceeded the maximum number of connections.", ip: "203.0.113.11", messageID: qid("8E7FD615F6")},
		{line: 13, time: stamp("14:01:30"), rcpt: "gina.example@outlook.com", typ: TypeBounced, word: "bounced", code: 550, enhanced: "5.7.1",
			reply: "550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent. …(S3140). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. [DM6NAM12FT056.eop-nam12.prod.protection.outlook.com]",
			ip:    "203.0.113.10", messageID: qid("9F80E726A7")},
		{line: 17, time: stamp("14:02:00"), rcpt: "henry.example@hotmail.com", typ: TypeBounced, word: "bounced", code: 550, enhanced: "5.5.0",
			reply:     "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [HE1EUR01FT020.eop-EUR01.prod.protection.outlook.com 2024-03-05T14:02:00.324Z 08DC3D1E5C8B3A20]",
			messageID: qid("A091F837B8")},
		// The queue id was "removed" at 14:00:01 and reused: the new message
		// must not inherit the old one's Message-ID.
		{line: 18, time: stamp("14:02:31"), rcpt: "ivy.example@gmail.com", typ: TypeDeferred, word: "deferred", code: 421, enhanced: "4.7.28",
			reply:     "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail. To protect 421-4.7.28 our users…m17-20020a67f711000000b0045d8a438106si295017vso.199 - gsmtp",
			messageID: qid("3F2A81C0A1")},
		{line: 19, time: stamp("14:02:45"), rcpt: "kim.example@outlook.com", typ: TypeDeferred, word: "deferred", code: 451, enhanced: "4.4.4",
			reply: "451 4.4.4 Temporary server error. Please try again later ATTR1", messageID: qid("7D6EC504E5")},
	}
}

func TestPostfixClassicSample(t *testing.T) {
	data := readSample(t, "postfix-maillog.log")
	opts := testParseOptions()
	opts.Year = 2024
	s := parseBytes(t, postfixFormat{}, data, opts)
	checkEvents(t, s.events, withAttempts(nil, postfixSampleWant(
		func(hms string) string { return "2024-03-05T" + hms + "Z" },
		func(short string) string { return short })))
	// status=expired names no recipient; with none of its to= lines in the
	// file there is nobody to attribute it to.
	if len(s.rejects) != 1 || s.rejects[0].Line != 21 || !strings.Contains(s.rejects[0].Reason, "status=expired for queue id 9A8B7C6D5E") {
		t.Errorf("rejects = %+v, want the expired line 21", s.rejects)
	}
	if s.zoneless != len(s.events) {
		t.Errorf("%d zone-less times reported, want %d (classic syslog has no zone)", s.zoneless, len(s.events))
	}
	checkKeys(t, s.events, parseBytes(t, postfixFormat{}, data, opts).events)
}

func TestPostfixRFC3339MultiInstanceSample(t *testing.T) {
	data := readSample(t, "postfix-maillog-rfc3339.log")
	s := parseBytes(t, postfixFormat{}, data, nil)
	fracs := map[string]string{"14:00:01": ".001203", "14:00:03": ".598127", "14:00:05": ".004411", "14:00:09": ".001203",
		"14:00:30": ".0009", "14:00:35": ".598127", "14:01:12": ".482915", "14:01:30": ".07712", "14:02:00": ".482915",
		"14:02:31": ".300012", "14:02:45": ".004411"}
	long := map[string]string{"4A3B92D1B2": "4TqB3N1pQ2z9rQn", "5B4CA3E2C3": "4TqB3N2sT5z9rQp", "6C5DB4F3D4": "4TqB3N3vW8z9rQq",
		"7D6EC504E5": "4TqB3P0aB1z9rQr", "A091F837B8": "4TqB3P3gH0z9rQu", "8E7FD615F6": "4TqB3P1cD4z9rQs",
		"9F80E726A7": "4TqB3P2eF7z9rQt", "3F2A81C0A1": "4TqB3N0kZbz9rQm"}
	checkEvents(t, s.events, withAttempts(nil, postfixSampleWant(
		func(hms string) string { return "2024-03-05T" + hms + fracs[hms] + "Z" },
		func(short string) string { return long[short] })))
	if s.zoneless != 0 {
		t.Errorf("%d zone-less times reported for RFC 3339 lines", s.zoneless)
	}
}

func TestPostfixYearRolloverSample(t *testing.T) {
	data := readSample(t, "postfix-maillog-yearroll.log")
	opts := testParseOptions()
	// The file was last written on New Year's morning: its first line is
	// from the year before.
	opts.ModTime = time.Date(2024, 1, 1, 0, 5, 1, 0, time.UTC)
	s := parseBytes(t, postfixFormat{}, data, opts)
	var got []string
	for _, e := range s.events {
		got = append(got, e.Time.Format(time.RFC3339)+" "+e.Recipient+" "+string(e.Type))
	}
	want := []string{
		"2023-12-31T23:59:58Z alice.example@hotmail.com deferred",
		"2023-12-31T23:59:59Z erin.example@gmail.com delivered",
		"2024-01-01T00:00:03Z bob.example@outlook.com deferred",
		"2024-01-01T00:00:04Z frank.example@hotmail.com delivered",
		"2024-01-01T00:05:00Z alice.example@hotmail.com delivered",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPostfixYearInference(t *testing.T) {
	line := func(stamp, rcpt string) string {
		return stamp + " mta1 postfix/smtp[1]: 3F2A81C0A1: to=<" + rcpt + ">, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n"
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		year    int
		modTime time.Time
		now     time.Time
		tz      *time.Location
		input   string
		want    []string
	}{
		{name: "--year, then Dec to Jan, and a late December line stays in the old year", year: 2023,
			input: line("Dec 31 23:59:58", "a@x.com") + line("Jan  1 00:00:03", "b@x.com") + line("Dec 31 23:59:59", "c@x.com") + line("Jan  1 00:05:00", "d@x.com"),
			want:  []string{"2023-12-31T23:59:58Z", "2024-01-01T00:00:03Z", "2023-12-31T23:59:59Z", "2024-01-01T00:05:00Z"}},
		{name: "file time in the same year", modTime: time.Date(2024, 3, 5, 18, 0, 0, 0, time.UTC),
			input: line("Mar  5 14:00:00", "a@x.com"), want: []string{"2024-03-05T14:00:00Z"}},
		{name: "file time in January, log from December", modTime: time.Date(2025, 1, 2, 6, 0, 0, 0, time.UTC),
			input: line("Dec 30 10:00:00", "a@x.com") + line("Jan  2 05:00:00", "b@x.com"), want: []string{"2024-12-30T10:00:00Z", "2025-01-02T05:00:00Z"}},
		{name: "stdin: the clock's year", now: time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC),
			input: line("Mar  5 14:00:00", "a@x.com"), want: []string{"2024-03-05T14:00:00Z"}},
		{name: "stdin: a date after today is last year's", now: time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC),
			input: line("Dec 30 10:00:00", "a@x.com"), want: []string{"2023-12-30T10:00:00Z"}},
		{name: "zero-padded day (journald short) in a local zone", year: 2024, tz: berlin,
			input: line("Mar 05 15:00:00", "a@x.com") + line("Jul 05 16:00:00", "b@x.com"), want: []string{"2024-03-05T14:00:00Z", "2024-07-05T14:00:00Z"}},
		{name: "fraction of a second", year: 2024,
			input: line("Mar  5 14:00:00.25", "a@x.com"), want: []string{"2024-03-05T14:00:00.25Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := testParseOptions()
			opts.Year, opts.ModTime = c.year, c.modTime
			if !c.now.IsZero() {
				opts.Now = func() time.Time { return c.now }
			}
			if c.tz != nil {
				opts.TZ = c.tz
			}
			s := parseBytes(t, postfixFormat{}, []byte(c.input), opts)
			var got []string
			for _, e := range s.events {
				got = append(got, e.Time.Format(time.RFC3339Nano))
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") || len(s.rejects) != 0 {
				t.Errorf("times %v rejects %v, want %v", got, s.rejects, c.want)
			}
		})
	}
	// A day the inferred year does not have is a reject that says so.
	opts := testParseOptions()
	opts.Year = 2023
	s := parseBytes(t, postfixFormat{}, []byte(line("Feb 29 10:00:00", "a@x.com")), opts)
	if len(s.events) != 0 || len(s.rejects) != 1 || !strings.Contains(s.rejects[0].Reason, "February has no day 29 in 2023") {
		t.Errorf("Feb 29 2023: events %v rejects %+v", s.events, s.rejects)
	}
}

// Traps the shared sample lacks: journald short-iso times, an expiry with
// recipients still deferred, Postfix's own bounce notification (null sender),
// per-MX error lines, --sending-ip, and records that cannot be read.
const postfixTrapsLog = `2024-03-05T15:00:00+0100 mta1 postfix/cleanup[2212]: 5C1D2E3F4A: message-id=<m1@example.com>
2024-03-05T15:00:00+0100 mta1 postfix/qmgr[1820]: 5C1D2E3F4A: from=<news@example.com>, size=2048, nrcpt=3 (queue active)
2024-03-05T15:00:01+0100 mta1 postfix/smtp[2301]: 5C1D2E3F4A: to=<A.User@Hotmail.com>, relay=hotmail-com.olc.protection.outlook.com[52.101.68.38]:25, delay=1, delays=0.1/0/0.5/0.4, dsn=4.7.650, status=deferred (host hotmail-com.olc.protection.outlook.com[52.101.68.38] said: 451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775) (in reply to MAIL FROM command))
2024-03-05T15:00:01+0100 mta1 postfix/smtp[2301]: 5C1D2E3F4A: to=<b.user@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.8.47]:25, delay=1, delays=0.1/0/0.5/0.4, dsn=4.7.650, status=deferred (host outlook-com.olc.protection.outlook.com[52.101.8.47] said: 451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775) (in reply to MAIL FROM command))
2024-03-05T15:00:02+0100 mta1 postfix/smtp[2302]: 5C1D2E3F4A: to=<c.user@gmail.com>, relay=gmail-smtp-in.l.google.com[142.251.2.27]:25, delay=2, delays=0.1/0/0.5/1.4, dsn=2.0.0, status=sent (250 2.0.0 OK  1709650802 x1si1 - gsmtp)
2024-03-05T16:00:02+0100 mta1 postfix/smtp[2303]: 5C1D2E3F4A: to=<b.user@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.8.47]:25, delay=3601, delays=3600/0/0.5/0.5, dsn=2.6.0, status=sent (250 2.6.0 <m1@example.com> Queued mail for delivery)
2024-03-10T15:00:00+0100 mta1 postfix/qmgr[1820]: 5C1D2E3F4A: from=<news@example.com>, status=expired, returned to sender
2024-03-10T15:00:00+0100 mta1 postfix/cleanup[2212]: 6D2E3F4A5B: message-id=<20240310140000.6D2E3F4A5B@mta1.example.com>
2024-03-10T15:00:00+0100 mta1 postfix/bounce[2501]: 5C1D2E3F4A: sender non-delivery notification: 6D2E3F4A5B
2024-03-10T15:00:00+0100 mta1 postfix/qmgr[1820]: 6D2E3F4A5B: from=<>, size=4096, nrcpt=1 (queue active)
2024-03-10T15:00:00+0100 mta1 postfix/qmgr[1820]: 5C1D2E3F4A: removed
2024-03-10T15:00:01+0100 mta1 postfix/smtp[2304]: 6D2E3F4A5B: host mx1.example.com[192.0.2.30] said: 421 4.3.0 try again later (in reply to RCPT TO command)
2024-03-10T15:00:02+0100 mta1 postfix/smtp[2304]: 6D2E3F4A5B: to=<news@example.com>, relay=mx2.example.com[192.0.2.31]:25, delay=2, delays=0/0/1/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9C8B7A6D5E)
2024-03-10T15:00:02+0100 mta1 postfix/smtp[2305]: 7E3F4A5B6C: to=<d.user@live.com>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to live-com.olc.protection.outlook.com[52.101.8.1]:25: Connection timed out)
2024-03-10T15:00:03+0100 mta1 postfix/local[2306]: 8F4A5B6C7D: to=<root>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
2024-03-10T15:00:04+0100 mta1 postfix/smtp[2307]: 9A5B6C7D8E: to=<e@example.org>, relay=mx.example.org[192.0.2.40]:25, delay=0, delays=0/0/0/0, dsn=2.0.0, status=relayed (250 ok)
2024-03-10T15:00:05+0100 mta1 postfix/smtp[2308]: warning: TLS library problem: error:0A000126:SSL routines::unexpected eof while reading
2024-03-10T15:00:05+0100 mta1 postfix/smtpd[2210]: NOQUEUE: reject: RCPT from unknown[192.0.2.99]: 554 5.7.1 <x@example.com>: Relay access denied; from=<s@spam.example> to=<x@example.com> proto=ESMTP helo=<spam>
2024-03-10T15:00:06+0100 mta1 postfix/smtp[2309]: 9A5B6C7D8F: to=<f@example.org>, relay=none, delay=1
`

func TestPostfixTraps(t *testing.T) {
	opts := testParseOptions()
	opts.SendingIP = "198.51.100.7"
	s := parseBytes(t, postfixFormat{}, []byte(postfixTrapsLog), opts)
	msReply := "451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. " +
		"For e-mail delivery information, see https://aka.ms/postmaster (S775)"
	checkEvents(t, s.events, withAttempts(map[int64]int{6: 2, 7: 2}, []wantEvent{
		// The IP Microsoft quotes wins over --sending-ip: it is this event's.
		{line: 3, time: "2024-03-05T14:00:01Z", rcpt: "a.user@hotmail.com", typ: TypeDeferred, word: "deferred", code: 451, enhanced: "4.7.650",
			reply: msReply, ip: "203.0.113.10", messageID: "m1@example.com"},
		{line: 4, time: "2024-03-05T14:00:01Z", rcpt: "b.user@outlook.com", typ: TypeDeferred, word: "deferred", code: 451, enhanced: "4.7.650",
			reply: msReply, ip: "203.0.113.10", messageID: "m1@example.com"},
		{line: 5, time: "2024-03-05T14:00:02Z", rcpt: "c.user@gmail.com", typ: TypeDelivered, word: "sent", code: 250, enhanced: "2.0.0",
			reply: "250 2.0.0 OK  1709650802 x1si1 - gsmtp", ip: "198.51.100.7", messageID: "m1@example.com"},
		{line: 6, time: "2024-03-05T15:00:02Z", rcpt: "b.user@outlook.com", typ: TypeDelivered, word: "sent", code: 250, enhanced: "2.6.0",
			reply: "250 2.6.0 <m1@example.com> Queued mail for delivery", ip: "198.51.100.7", messageID: "m1@example.com"},
		// Expired: only the recipient still deferred; b was delivered since.
		{line: 7, time: "2024-03-10T14:00:00Z", rcpt: "a.user@hotmail.com", typ: TypeBounced, word: "expired",
			ip: "198.51.100.7", messageID: "m1@example.com"},
		// The per-MX "said:" line above it is not an event; this is
		// Postfix's own bounce notification (from=<>).
		{line: 13, time: "2024-03-10T14:00:02Z", rcpt: "news@example.com", typ: TypeDelivered, word: "sent", code: 250, enhanced: "2.0.0",
			reply: "250 2.0.0 Ok: queued as 9C8B7A6D5E", ip: "198.51.100.7", messageID: "20240310140000.6D2E3F4A5B@mta1.example.com", class: "null-sender"},
		{line: 14, time: "2024-03-10T14:00:02Z", rcpt: "d.user@live.com", typ: TypeDeferred, word: "deferred", enhanced: "4.4.1",
			reply: "connect to live-com.olc.protection.outlook.com[52.101.8.1]:25: Connection timed out", ip: "198.51.100.7", messageID: "7E3F4A5B6C"},
	}))
	wantRejects := []string{
		`15: to=<root> is not an e-mail address`,
		`16: postfix status=relayed is not sent, deferred, bounced or expired (map it with --status relayed=TYPE)`,
		`19: postfix to= line without status= (expected dsn=X.Y.Z, status=sent|deferred|bounced (reply))`,
	}
	var got []string
	for _, r := range s.rejects {
		got = append(got, fmt.Sprintf("%d: %s", r.Line, r.Reason))
		if !strings.Contains(postfixTrapsLog, r.Raw) || r.Raw == "" {
			t.Errorf("reject raw %q is not the line as read", r.Raw)
		}
	}
	if strings.Join(got, "\n") != strings.Join(wantRejects, "\n") {
		t.Errorf("rejects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRejects, "\n"))
	}
	// --status maps a word Postfix builds do not use by default.
	opts.Status = NewStatusMap(map[string]EventType{"relayed": TypeDelivered})
	s = parseBytes(t, postfixFormat{}, []byte(postfixTrapsLog), opts)
	if e := s.byRecipient("e@example.org"); len(e) != 1 || e[0].Type != TypeDelivered || e[0].Word != "relayed" {
		t.Errorf("--status relayed=delivered: %+v", e)
	}
}

func TestPostfixQueueTrackerIsBounded(t *testing.T) {
	tr := newQIDTracker(100)
	for i := 0; i < 350; i++ {
		tr.getOrAdd([]byte(fmt.Sprintf("%010X", i))).messageID = fmt.Sprint(i)
		if len(tr.m) > 100 || len(tr.ring)-tr.head > 201 {
			t.Fatalf("after %d ids: map %d, ring %d", i+1, len(tr.m), len(tr.ring)-tr.head)
		}
	}
	if tr.evicted != 250 || tr.get([]byte(fmt.Sprintf("%010X", 249))) != nil || tr.get([]byte(fmt.Sprintf("%010X", 250))).messageID != "250" {
		t.Errorf("evicted %d; the oldest ids must go first", tr.evicted)
	}
	// Messages that come and go ("removed") leave nothing behind.
	for i := 0; i < 100_000; i++ {
		id := []byte(fmt.Sprintf("B%09X", i))
		tr.getOrAdd(id)
		tr.remove(id)
		if len(tr.ring) > 2*100+1 {
			t.Fatalf("ring grew to %d after %d removed messages", len(tr.ring), i+1)
		}
	}
	// The first of them found the map full and evicted the oldest id.
	if len(tr.m) != 99 {
		t.Errorf("map holds %d ids, want the 99 never removed nor evicted", len(tr.m))
	}
}

// A log that never says "removed" (a file cut mid-queue, or qmgr lines
// filtered out) must not grow the parser's memory without bound.
func TestPostfixParserMemoryIsBounded(t *testing.T) {
	var log bytes.Buffer
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&log, "Mar  5 14:00:00 mta1 postfix/cleanup[1]: %010X: message-id=<%d@example.com>\n", i, i)
		fmt.Fprintf(&log, "Mar  5 14:00:01 mta1 postfix/smtp[2]: %010X: to=<u%d@hotmail.com>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=4.7.650, status=deferred (host mx[192.0.2.1] said: 451 4.7.650 try later (in reply to MAIL FROM command))\n", i, i)
	}
	opts := testParseOptions()
	p := newPostfixParser(opts, &collectSink{}, 1000)
	lr := newLineReader(&log)
	for {
		line, _, ok := lr.next()
		if !ok {
			break
		}
		p.lineNo, p.raw = lr.n, line
		p.line(line)
		if len(p.queue.m) > 1000 {
			t.Fatalf("line %d: %d queue ids remembered, cap 1000", lr.n, len(p.queue.m))
		}
	}
	if p.queue.evicted != 4000 {
		t.Errorf("evicted %d, want 4000", p.queue.evicted)
	}
}

func TestIsQueueID(t *testing.T) {
	for _, s := range []string{"3F2A81C0A1", "4TqB3N0kZbz9rQm", "4TqB3P0aB1z9rQr", "9A8B7C6D5E"} {
		if !isQueueID([]byte(s)) {
			t.Errorf("%q is a queue id", s)
		}
	}
	for _, s := range []string{"warning", "NOQUEUE", "statistics", "ABCDEF", "connect", "3F2A", "3F2A81C0A1-x"} {
		if isQueueID([]byte(s)) {
			t.Errorf("%q is not a queue id", s)
		}
	}
}

// A line longer than any syslog daemon writes (a binary file, a lost line
// end) is one reject; the lines after it are read as usual.
func TestPostfixOverlongLine(t *testing.T) {
	ok := "2024-03-05T14:00:00Z mta1 postfix/smtp[1]: 3F2A81C0A1: to=<a@hotmail.com>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n"
	long := "2024-03-05T14:00:00Z mta1 postfix/smtp[1]: " + strings.Repeat("x", 2*maxLogLine) + "\n"
	s := parseBytes(t, postfixFormat{}, []byte(ok+long+ok), nil)
	if len(s.events) != 2 || s.events[1].Line != 3 {
		t.Fatalf("events %+v", s.events)
	}
	if len(s.rejects) != 1 || s.rejects[0].Line != 2 || len(s.rejects[0].Raw) != maxLogLine ||
		s.rejects[0].Reason != "line longer than 1048576 bytes: not a syslog line" {
		t.Errorf("rejects: %d, line %d, %d bytes, %q", len(s.rejects), s.rejects[0].Line, len(s.rejects[0].Raw), s.rejects[0].Reason)
	}
}

// withAttempts sets the attempt numbers the Postfix and Exim parsers count: 1 unless this
// input deferred the recipient before (byLine overrides).
func withAttempts(byLine map[int64]int, ws []wantEvent) []wantEvent {
	for i := range ws {
		ws[i].attempt = 1
		if n, ok := byLine[ws[i].line]; ok {
			ws[i].attempt = n
		}
	}
	return ws
}
