package ingest

import (
	"strings"
	"testing"
)

func TestKumoMTASample(t *testing.T) {
	data := readSample(t, "kumomta-log.jsonl")
	s := parseBytes(t, kumoMTAFormat{}, data, nil)
	const alice, camp = "1d98076abbbc11ed940250ebf67f93bd", "password-reset"
	checkEvents(t, s.events, []wantEvent{
		{line: 1, time: "2024-03-05T14:00:00.101Z", rcpt: "alice.example@hotmail.com", typ: TypeProcessed, word: "Reception", messageID: alice, class: camp},
		// Code, enhanced code and text are put back together as sent.
		{line: 2, time: "2024-03-05T14:00:05.598Z", rcpt: "alice.example@hotmail.com", typ: TypeDeferred, word: "TransientFailure", code: 451, enhanced: "4.7.650",
			reply: msReply650 + " [Name=Protocol Filter Agent]…08DC3D1E4B7A2F19]", ip: "203.0.113.10", messageID: alice, attempt: 1, class: camp},
		{line: 3, time: "2024-03-05T14:00:09.12Z", rcpt: "bob.example@outlook.com", typ: TypeDeferred, word: "TransientFailure", code: 451, enhanced: "4.7.650",
			reply: strings.Replace(msReply650, "203.0.113.10", "203.0.113.11", 1), ip: "203.0.113.11", messageID: "2e0918bbcccd11ed940250ebf67f93bd", attempt: 1, class: camp},
		// KumoMTA's own 400: still a deferral, but marked, with no SMTP code
		// (the receiver never answered), and egress_source "ip-10" is a
		// name, not an address.
		{line: 4, time: "2024-03-05T14:00:12Z", rcpt: "carol.example@hotmail.com", typ: TypeDeferred, word: "TransientFailure/internal",
			reply:     "KumoMTA internal: failed to connect to any candidate hosts: connect to 52.101.68.38:25 and read initial banner: Connection timed out",
			messageID: "3f1a29ccddde11ed940250ebf67f93bd", attempt: 1, class: camp},
		{line: 5, time: "2024-03-05T14:00:02.43Z", rcpt: "erin.example@gmail.com", typ: TypeDelivered, word: "Delivery", code: 250, enhanced: "2.0.0",
			reply: gmailOK, ip: "203.0.113.10", messageID: "402b3addeeef11ed940250ebf67f93bd", attempt: 1, class: camp},
		{line: 6, time: "2024-03-05T14:00:03.1Z", rcpt: "frank.example@hotmail.com", typ: TypeDelivered, word: "Delivery", code: 250, enhanced: "2.6.0",
			reply: "250 2.6.0 <20240305140003.7c1d2e@mail.example.com> [InternalId=…-> 250 2.1.5", ip: "203.0.113.11", messageID: "513c4beeff0011ed940250ebf67f93bd", attempt: 1, class: camp},
		{line: 7, time: "2024-03-05T14:01:30.7Z", rcpt: "gina.example@outlook.com", typ: TypeBounced, word: "Bounce", code: 550, enhanced: "5.7.1",
			reply: "550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent.…prod.protection.outlook.com]", ip: "203.0.113.10", messageID: "624d5cff001111ed940250ebf67f93bd", attempt: 1, class: camp},
		{line: 8, time: "2024-03-05T14:02:00.33Z", rcpt: "henry.example@hotmail.com", typ: TypeBounced, word: "Bounce", code: 550, enhanced: "5.5.0",
			reply: "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302).…08DC3D1E5C8B3A20]", ip: "203.0.113.11", messageID: "735e6d00112211ed940250ebf67f93bd", attempt: 1, class: camp},
		{line: 9, time: "2024-03-05T14:03:00.2Z", rcpt: "ivy.example@gmail.com", typ: TypeDeferred, word: "TransientFailure", code: 421, enhanced: "4.7.28",
			reply: "421 4.7.28 Gmail has detected an unusual rate of unsolicited mail. To protect our users from spam,…vso.199 - gsmtp",
			ip:    "203.0.113.10", messageID: "846f7e11223311ed940250ebf67f93bd", attempt: 2, class: camp},
		// The expiry is KumoMTA's decision: its 551 is not a receiver's reply.
		{line: 10, time: "2024-03-06T14:00:00.5Z", rcpt: "alice.example@hotmail.com", typ: TypeBounced, word: "Expiration", enhanced: "5.4.7",
			reply:     "Next delivery time would be at 2024-03-06 14:05:00 UTC which exceeds the expiry time 2024-03-06 14:00:00 UTC configured via set_scheduling",
			messageID: alice, attempt: 12, class: camp},
	})
	if len(s.rejects) != 0 {
		t.Errorf("rejects %+v", s.rejects)
	}
	checkKeys(t, s.events, parseBytes(t, kumoMTAFormat{}, data, nil).events)
}

// Traps the sample lacks: a recipient array, an epoch or string timestamp
// without event_time, an IP-shaped egress_source, an IPv6 source address,
// the other record types, and records that cannot be read.
const kumoTrapsLog = `{"type":"Delivery","id":"a1","recipient":["X@Hotmail.com","y@outlook.com"],"queue":"hotmail.com","response":{"code":250,"enhanced_code":{"class":2,"subject":6,"detail":0},"content":"Queued mail for delivery","command":".\r\n"},"timestamp":1709647300,"num_attempts":1,"egress_source":"203.0.113.12","source_address":null,"nodeid":"n"}
{"type":"TransientFailure","id":"a2","recipient":"z@live.com","queue":"live.com","response":{"code":421,"enhanced_code":null,"content":"Service not available","command":null},"timestamp":"2024-03-05T14:01:41Z","num_attempts":3,"egress_source":"ip-12","source_address":{"address":"[2001:db8::10]:41234","protocol":null},"nodeid":"n"}
{"type":"Delay","id":"a3","recipient":"z@live.com","queue":"live.com","response":{"code":451,"enhanced_code":{"class":4,"subject":4,"detail":5},"content":"KumoMTA internal: ready queue is full","command":null},"timestamp":1709647302,"num_attempts":3,"nodeid":"n"}
{"type":"AdminBounce","id":"a4","recipient":"w@msn.com","queue":"msn.com","response":{"code":551,"enhanced_code":{"class":5,"subject":7,"detail":1},"content":"Administrative bounce: incident cleanup","command":null},"timestamp":1709647303,"num_attempts":0,"nodeid":"n"}
{"type":"Feedback","id":"a5","recipient":"fbl@example.com","queue":"example.com","response":{"code":250,"enhanced_code":null,"content":"","command":null},"timestamp":1709647304,"num_attempts":0,"feedback_report":{"feedback_type":"abuse","supplemental_trace":{"recipient":"V@hotmail.com"}},"nodeid":"n"}
{"type":"OOB","id":"a6","recipient":"u@hotmail.com","queue":"hotmail.com","response":{"code":550,"enhanced_code":{"class":5,"subject":1,"detail":1},"content":"Requested action not taken: mailbox unavailable","command":null},"timestamp":1709647305,"num_attempts":1,"nodeid":"n"}
{"type":"Fancy","id":"a7","recipient":"t@hotmail.com","queue":"hotmail.com","timestamp":1709647306,"nodeid":"n"}
{"type":"Delivery","id":"a8","recipient":"not-an-address","queue":"q","timestamp":1709647307,"nodeid":"n"}
{"type":"Delivery", broken
`

func TestKumoMTATraps(t *testing.T) {
	s := parseBytes(t, kumoMTAFormat{}, []byte(kumoTrapsLog), nil)
	checkEvents(t, s.events, []wantEvent{
		{line: 1, time: "2024-03-05T14:01:40Z", rcpt: "x@hotmail.com", typ: TypeDelivered, word: "Delivery", code: 250, enhanced: "2.6.0",
			reply: "250 2.6.0 Queued mail for delivery", ip: "203.0.113.12", messageID: "a1", attempt: 1},
		{line: 1, time: "2024-03-05T14:01:40Z", rcpt: "y@outlook.com", typ: TypeDelivered, word: "Delivery", code: 250, enhanced: "2.6.0",
			reply: "250 2.6.0 Queued mail for delivery", ip: "203.0.113.12", messageID: "a1", attempt: 1},
		{line: 2, time: "2024-03-05T14:01:41Z", rcpt: "z@live.com", typ: TypeDeferred, word: "TransientFailure", code: 421,
			reply: "421 Service not available", ip: "2001:db8::10", messageID: "a2", attempt: 3},
		// KumoMTA's own shaping delay: not an attempt, not a receiver reply.
		{line: 3, time: "2024-03-05T14:01:42Z", rcpt: "z@live.com", typ: TypeOther, word: "Delay/internal", enhanced: "4.4.5",
			reply: "KumoMTA internal: ready queue is full", messageID: "a3", attempt: 3},
		{line: 4, time: "2024-03-05T14:01:43Z", rcpt: "w@msn.com", typ: TypeDropped, word: "AdminBounce", enhanced: "5.7.1",
			reply: "Administrative bounce: incident cleanup", messageID: "a4"},
		// The complaint is about the original recipient, not the report mailbox.
		{line: 5, time: "2024-03-05T14:01:44Z", rcpt: "v@hotmail.com", typ: TypeComplaint, word: "Feedback", messageID: "a5"},
		{line: 6, time: "2024-03-05T14:01:45Z", rcpt: "u@hotmail.com", typ: TypeBounced, word: "OOB", code: 550, enhanced: "5.1.1",
			reply: "550 5.1.1 Requested action not taken: mailbox unavailable", messageID: "a6", attempt: 1},
	})
	var got []string
	for _, r := range s.rejects {
		got = append(got, r.Reason)
	}
	want := []string{
		`type "Fancy" is not a KumoMTA log record type (map it with --status Fancy=TYPE)`,
		`recipient "not-an-address" is not an e-mail address`,
	}
	if len(got) != 3 || strings.Join(got[:2], "\n") != strings.Join(want, "\n") || !strings.HasPrefix(got[2], "not a KumoMTA log record: invalid JSON") {
		t.Errorf("rejects:\n%s", strings.Join(got, "\n"))
	}
	if s.events[0].Key == s.events[1].Key {
		t.Error("the two recipients of one record share a dedupe key")
	}
}
