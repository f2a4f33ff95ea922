package ingest

import (
	"strings"
	"testing"
	"time"
)

func TestEximSample(t *testing.T) {
	data := readSample(t, "exim-mainlog.log")
	s := parseBytes(t, eximFormat{}, data, nil)
	msFrank := "250 2.6.0 <20240305140003.7c1d2e@mail.example.com> [InternalId=…Queued mail for delivery -> 250 2.1.5"
	checkEvents(t, s.events, withAttempts(nil, []wantEvent{
		{line: 2, time: "2024-03-05T14:00:01Z", rcpt: "erin.example@gmail.com", typ: TypeDelivered, word: "=>", code: 250, enhanced: "2.0.0",
			reply: gmailOK, messageID: "1rhQ2k-000000004Fa-2xQb"},
		{line: 5, time: "2024-03-05T14:00:03Z", rcpt: "frank.example@hotmail.com", typ: TypeDelivered, word: "=>", code: 250, enhanced: "2.6.0",
			reply: msFrank, messageID: "1rhQ2l-000000004Fc-0aBc"},
		{line: 6, time: "2024-03-05T14:00:03Z", rcpt: "gail.example@hotmail.com", typ: TypeDelivered, word: "->", code: 250, enhanced: "2.6.0",
			reply: msFrank, messageID: "1rhQ2l-000000004Fc-0aBc"},
		// Line 9, the flagless per-host line, repeats line 10's error: one event.
		{line: 10, time: "2024-03-05T14:00:05Z", rcpt: "alice.example@hotmail.com", typ: TypeDeferred, word: "==", code: 451, enhanced: "4.7.650",
			reply: msReply650 + " [Name=Protocol Filter Agent]…08DC3D1E4B7A2F19]", ip: "203.0.113.10", messageID: "1rhQ2m-000000004Fe-1dEf"},
		{line: 11, time: "2024-03-05T14:00:09Z", rcpt: "bob.example@outlook.com", typ: TypeDeferred, word: "==", code: 451, enhanced: "4.7.650",
			reply: strings.Replace(msReply650, "203.0.113.10", "203.0.113.11", 1), ip: "203.0.113.11", messageID: "1rhQ2m-000000004Fe-1dEf"},
		// Line 12, "retry time not reached", is not an attempt.
		{line: 13, time: "2024-03-05T14:00:45Z", rcpt: "nobody@nomx.example.net", typ: TypeDeferred, word: "==",
			reply: "Connection timed out", messageID: "1rhQ2m-000000004Fe-1dEf"},
		{line: 14, time: "2024-03-05T14:01:30Z", rcpt: "gina.example@outlook.com", typ: TypeBounced, word: "**", code: 550, enhanced: "5.7.1",
			reply: "550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent.…[DM6NAM12FT056.eop-nam12.prod.protection.outlook.com]",
			ip:    "203.0.113.10", messageID: "1rhQ3m-000000004Gd-1cDe"},
		{line: 17, time: "2024-03-05T14:02:00Z", rcpt: "henry.example@hotmail.com", typ: TypeBounced, word: "**", code: 550, enhanced: "5.5.0",
			reply:     "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [HE1EUR01FT020.eop-EUR01.prod.protection.outlook.com 2024-03-05T14:02:00.324Z 08DC3D1E5C8B3A20]",
			messageID: "1rhQ3n-000000004Gf-3gHi"},
		// A multi-line reply is logged with \n between its lines.
		{line: 18, time: "2024-03-05T14:02:31Z", rcpt: "ivy.example@gmail.com", typ: TypeDeferred, word: "==", code: 421, enhanced: "4.7.28",
			reply:     "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail. To protect 421-4.7.28 our users from spam, …vso.199 - gsmtp",
			messageID: "1rhQ3n-000000004Gf-3gHi"},
	}))
	if len(s.rejects) != 0 || s.zoneless != len(s.events) {
		t.Errorf("rejects %+v, zone-less %d", s.rejects, s.zoneless)
	}
	checkKeys(t, s.events, parseBytes(t, eximFormat{}, data, nil).events)
}

// Traps the sample lacks: pre-4.97 ids, milliseconds, a logged zone and
// [pid], I=[ip] (log_selector +outgoing_interface), an address that ends in
// the error's colon, a pipe delivery, an escaped quote in C="...", and
// zone-less times read in --tz.
const eximTrapsLog = `2024-03-05 15:00:00.123 +0100 [4242] 1rhQ2k-0004Fa-2x <= bounces@example.com H=app1.example.com [192.0.2.20] I=[192.0.2.1]:25 P=esmtpsa S=10234 id=m1@example.com
2024-03-05 15:00:01.250 +0100 [4243] 1rhQ2k-0004Fa-2x => A.User@Hotmail.com R=dnslookup T=remote_smtp H=hotmail-com.olc.protection.outlook.com [52.101.68.38] I=[203.0.113.10]:41234 X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256 CV=yes C="250 2.6.0 <m1@example.com> [InternalId=1, Hostname=X] Queued mail for delivery -> 250 2.1.5"
2024-03-05 15:00:02.000 +0100 [4243] 1rhQ2k-0004Fa-2x H=outlook-com.olc.protection.outlook.com [52.101.8.47] I=[203.0.113.11]:40022: SMTP error from remote mail server after RCPT TO:<b.user@outlook.com>: 451 4.7.650 The mail server [203.0.113.11] has been temporarily rate limited due to IP reputation. (S775)
2024-03-05 15:00:02.000 +0100 [4243] 1rhQ2k-0004Fa-2x == b.user@outlook.com R=dnslookup T=remote_smtp defer (-44) H=outlook-com.olc.protection.outlook.com [52.101.8.47] I=[203.0.113.11]:40022: SMTP error from remote mail server after RCPT TO:<b.user@outlook.com>: 451 4.7.650 The mail server [203.0.113.11] has been temporarily rate limited due to IP reputation. (S775)
2024-03-05 15:00:03.000 +0100 [4243] 1rhQ2k-0004Fa-2x ** nobody@nomx.example.net: Unrouteable address
2024-03-05 15:00:04.000 +0100 [4243] 1rhQ2k-0004Fa-2x == c.user@example.org R=localuser T=local_delivery defer (-52): Retry time not yet reached
2024-03-05 15:00:05.000 +0100 [4243] 1rhQ2k-0004Fa-2x => |/usr/local/bin/archive <Archive@Example.com> R=archive_pipe T=address_pipe
2024-03-05 15:00:06.000 +0100 [4243] 1rhQ2k-0004Fa-2x Completed
2024-03-05 14:10:00 1rhQ2l-0004Fc-0a => d.user@msn.com R=dnslookup T=remote_smtp H=msn-com.olc.protection.outlook.com [52.101.8.2] C="250 2.6.0 \"quoted\" ok"
2024-03-05 14:11:00 1rhQ2l-0004Fc-0a == e.user@hotmail.com R=dnslookup T=remote_smtp defer (-45) H=hotmail-com.olc.protection.outlook.com [52.101.68.38]: SMTP error from remote mail server after MAIL FROM:<bounces@example.com> SIZE=10234: 451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. (S775)
2024-03-05 14:12:00 1rhQ2l-0004Fc-0a == not-an-address R=x T=y defer (-1): broken
2024-03-05 14:12:00 Start queue run: pid=23001
`

func TestEximTraps(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	opts := testParseOptions()
	opts.TZ = berlin
	opts.SendingIP = "198.51.100.7"
	s := parseBytes(t, eximFormat{}, []byte(eximTrapsLog), opts)
	ms11 := "451 4.7.650 The mail server [203.0.113.11] has been temporarily rate limited due to IP reputation. (S775)"
	checkEvents(t, s.events, withAttempts(nil, []wantEvent{
		{line: 2, time: "2024-03-05T14:00:01.25Z", rcpt: "a.user@hotmail.com", typ: TypeDelivered, word: "=>", code: 250, enhanced: "2.6.0",
			reply: "250 2.6.0 <m1@example.com> [InternalId=1, Hostname=X] Queued mail for delivery -> 250 2.1.5", ip: "203.0.113.10",
			messageID: "1rhQ2k-0004Fa-2x"},
		{line: 4, time: "2024-03-05T14:00:02Z", rcpt: "b.user@outlook.com", typ: TypeDeferred, word: "==", code: 451, enhanced: "4.7.650",
			reply: ms11, ip: "203.0.113.11", messageID: "1rhQ2k-0004Fa-2x"},
		{line: 5, time: "2024-03-05T14:00:03Z", rcpt: "nobody@nomx.example.net", typ: TypeBounced, word: "**",
			reply: "Unrouteable address", ip: "198.51.100.7", messageID: "1rhQ2k-0004Fa-2x"},
		{line: 7, time: "2024-03-05T14:00:05Z", rcpt: "archive@example.com", typ: TypeDelivered, word: "=>",
			ip: "198.51.100.7", messageID: "1rhQ2k-0004Fa-2x"},
		// Zone-less times are local (--tz): 14:10 in Berlin is 13:10 UTC.
		{line: 9, time: "2024-03-05T13:10:00Z", rcpt: "d.user@msn.com", typ: TypeDelivered, word: "=>", code: 250, enhanced: "2.6.0",
			reply: `250 2.6.0 "quoted" ok`, ip: "198.51.100.7", messageID: "1rhQ2l-0004Fc-0a"},
		{line: 10, time: "2024-03-05T13:11:00Z", rcpt: "e.user@hotmail.com", typ: TypeDeferred, word: "==", code: 451, enhanced: "4.7.650",
			reply: strings.Replace(ms11, "203.0.113.11", "203.0.113.10", 1), ip: "203.0.113.10", messageID: "1rhQ2l-0004Fc-0a"},
	}))
	if len(s.rejects) != 1 || s.rejects[0].Line != 11 || s.rejects[0].Reason != `exim == line: "not-an-address" is not an e-mail address` {
		t.Errorf("rejects = %+v", s.rejects)
	}
	if s.zoneless != 2 {
		t.Errorf("%d zone-less times, want 2 (lines 9 and 10)", s.zoneless)
	}
}

func TestIsEximID(t *testing.T) {
	for _, s := range []string{"1rhQ2k-000000004Fa-2xQb", "1rhQ2k-0004Fa-2x", "1ajLoq-0001wC-Pk"} {
		if !isEximID([]byte(s)) {
			t.Errorf("%q is an Exim id", s)
		}
	}
	for _, s := range []string{"Start", "1rhQ2k-0004Fa_2x", "1rhQ2k-000000004Fa-2xQ", "H=host", "1rhQ2k-0004Fa-2!"} {
		if isEximID([]byte(s)) {
			t.Errorf("%q is not an Exim id", s)
		}
	}
}
