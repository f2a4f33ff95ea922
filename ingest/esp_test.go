package ingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parseFixture detects and parses a file under testdata the way ingest does.
func parseFixture(t *testing.T, rel string) (Format, string, *collectSink) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	head := data
	if len(head) > sniffSize {
		head = head[:sniffSize]
	}
	f, why, err := NewRegistry().Detect(head)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	sink := &collectSink{}
	opts := &ParseOptions{Source: rel, TZ: time.UTC, Status: NewStatusMap(nil)}
	if err := f.Parse(context.Background(), bytes.NewReader(data), opts, sink); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return f, why, sink
}

// espWant is one normalized event a fixture must produce. It is found by
// line, recipient and word; every other field must match exactly, except
// reply, which must start with the given text (and be empty when it is).
type espWant struct {
	line    int64
	rcpt    string
	word    string
	typ     EventType
	time    string
	ip      string
	code    int
	enh     string
	reply   string
	mid     string
	attempt int
	class   string
}

type espReject struct {
	line   int64
	reason string
}

func TestESPFormats(t *testing.T) {
	cases := []struct {
		file    string
		format  string
		events  int
		want    []espWant
		rejects []espReject
	}{
		{file: "samples/ses-events.jsonl", format: "ses", events: 8, want: []espWant{
			// Send has no sub-object time: the mail's own.
			{1, "alice.example@hotmail.com", "Send", TypeProcessed, "2024-03-05T14:00:00.212Z", "", 0, "", "", "0100018e0f3c1a2b-5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b-000000", 0, "ConfigSet"},
			// The sending IP comes from the ses:outgoing-ip tag, the time from delivery.timestamp.
			{2, "frank.example@hotmail.com", "Delivery", TypeDelivered, "2024-03-05T14:00:03.101Z", "203.0.113.11", 250, "2.6.0", "250 2.6.0 <20240305140003.7c1d2e@mail.example.com>", "0100018e0f3c1a9f-6a7b8c9d-0e1f-2a3b-4c5d-6e7f8a9b0c1d-000000", 0, "ConfigSet"},
			// No tag: the IP Microsoft quoted; delayType kept in the word; the "smtp; " prefix kept.
			{3, "alice.example@hotmail.com", "DeliveryDelay/IPFailure", TypeDeferred, "2024-03-05T14:05:05.095Z", "203.0.113.10", 451, "4.7.650", "smtp; 451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited", "0100018e0f3c1a2b-5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b-000000", 0, "ConfigSet"},
			{4, "bob.example@outlook.com", "DeliveryDelay/TransientCommunicationFailure", TypeDeferred, "2024-03-05T14:10:01.4Z", "", 421, "4.4.1", "smtp; 421 4.4.1 Unable to connect to remote host", "0100018e0f3c2b11-7b8c9d0e-1f2a-3b4c-5d6e-7f8a9b0c1d2e-000000", 0, "ConfigSet"},
			{5, "henry.example@hotmail.com", "Bounce/Permanent/General", TypeBounced, "2024-03-05T14:02:01.669Z", "", 550, "5.5.0", "smtp; 550 5.5.0 Requested action not taken", "0100018e0f3c2c40-8c9d0e1f-2a3b-4c5d-6e7f-8a9b0c1d2e3f-000000", 0, "ConfigSet"},
			// A Transient bounce is a temporary failure.
			{6, "carol.example@live.com", "Bounce/Transient/General", TypeDeferred, "2024-03-06T04:00:02.01Z", "203.0.113.10", 451, "4.7.651", "smtp; 451 4.7.651", "0100018e0f3c2d77-9d0e1f2a-3b4c-5d6e-7f8a-9b0c1d2e3f4a-000000", 0, "ConfigSet"},
			{7, "frank.example@hotmail.com", "Complaint", TypeComplaint, "2024-03-05T14:15:00Z", "", 0, "", "", "0100018e0f3c1a9f-6a7b8c9d-0e1f-2a3b-4c5d-6e7f8a9b0c1d-000000", 0, "ConfigSet"},
			{8, "ivan.example@hotmail.com", "Reject", TypeDropped, "2024-03-05T14:00:02Z", "", 0, "", "Bad content", "0100018e0f3c3e00-0e1f2a3b-4c5d-6e7f-8a9b-0c1d2e3f4a5b-000000", 0, "ConfigSet"},
		}},
		{file: "samples/ses-sns-envelopes.jsonl", format: "ses", events: 3, want: []espWant{
			// Legacy notificationType; mail.sourceIp (192.0.2.20) is the API caller, never the sending IP.
			{1, "frank.example@hotmail.com", "Delivery", TypeDelivered, "2024-03-05T14:00:03.101Z", "", 250, "2.6.0", "250 2.6.0", "0100018e0f3c1a9f-6a7b8c9d-0e1f-2a3b-4c5d-6e7f8a9b0c1d-000000", 0, ""},
			{2, "henry.example@hotmail.com", "Bounce/Permanent/General", TypeBounced, "2024-03-05T14:02:01.669Z", "", 550, "5.5.0", "smtp; 550 5.5.0", "0100018e0f3c2c40-8c9d0e1f-2a3b-4c5d-6e7f-8a9b0c1d2e3f-000000", 0, ""},
			{3, "alice.example@hotmail.com", "DeliveryDelay/IPFailure", TypeDeferred, "2024-03-05T14:05:05.095Z", "203.0.113.10", 451, "4.7.650", "smtp; 451 4.7.650", "0100018e0f3c1a2b-5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b-000000", 0, "ConfigSet"},
		}},
		{file: "esp/ses-traps.jsonl", format: "ses", events: 11, want: []espWant{
			// SQS Body -> SNS Message -> event: decoded three times; one event per bounced recipient.
			{1, "kate.example@hotmail.com", "Bounce/Permanent/General", TypeBounced, "2024-03-05T14:03:30.25Z", "203.0.113.11", 550, "5.1.1", "smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound", "0100018e0f3c5a01-aaaa-000000", 0, "Transactional"},
			{1, "liam.example@outlook.com", "Bounce/Permanent/General", TypeBounced, "2024-03-05T14:03:30.25Z", "203.0.113.11", 552, "5.2.2", "smtp; 552 5.2.2 Mailbox full", "0100018e0f3c5a01-aaaa-000000", 0, "Transactional"},
			// EventBridge "detail".
			{2, "mia.example@live.com", "DeliveryDelay/TransientCommunicationFailure", TypeDeferred, "2024-03-05T14:04:10.5Z", "203.0.113.10", 421, "4.4.7", "smtp; 421 4.4.7 Connection timed out", "0100018e0f3c5a02-bbbb-000000", 0, "Transactional"},
			// Send: one event per mail.destination, display names stripped.
			{3, "nora.example@hotmail.com", "Send", TypeProcessed, "2024-03-05T14:00:04.9Z", "", 0, "", "", "0100018e0f3c5a03-cccc-000000", 0, "Transactional"},
			{3, "oscar.example@msn.com", "Send", TypeProcessed, "2024-03-05T14:00:04.9Z", "", 0, "", "", "0100018e0f3c5a03-cccc-000000", 0, "Transactional"},
			{3, "pat.example@gmail.com", "Send", TypeProcessed, "2024-03-05T14:00:04.9Z", "", 0, "", "", "0100018e0f3c5a03-cccc-000000", 0, "Transactional"},
			// Suppression-list "bounces" were never attempted.
			{4, "quinn.example@hotmail.com", "Bounce/Permanent/OnAccountSuppressionList", TypeDropped, "2024-03-05T14:00:01.3Z", "", 0, "5.1.1", "Amazon SES did not send the message", "0100018e0f3c5a04-dddd-000000", 0, "Transactional"},
			{5, "rita.example@hotmail.com", "Rendering Failure", TypeDropped, "2024-03-05T14:00:06Z", "", 0, "", "Attribute 'firstName' is not present", "0100018e0f3c5a05-eeee-000000", 0, "Transactional"},
			// A Lambda batch ({"Records": [...]}) of SQS bodies.
			{7, "nora.example@hotmail.com", "Complaint", TypeComplaint, "2024-03-05T14:20:00Z", "", 0, "", "", "0100018e0f3c5a03-cccc-000000", 0, "Transactional"},
			{7, "pat.example@gmail.com", "Delivery", TypeDelivered, "2024-03-05T14:00:06.7Z", "203.0.113.11", 250, "2.0.0", "250 2.0.0 OK", "0100018e0f3c5a03-cccc-000000", 0, "Transactional"},
			// An open carries the tag too, but engagement events get no sending IP.
			{8, "pat.example@gmail.com", "Open", TypeOther, "2024-03-05T14:30:00Z", "", 0, "", "", "0100018e0f3c5a03-cccc-000000", 0, "Transactional"},
		}, rejects: []espReject{{6, "SNS SubscriptionConfirmation"}, {9, `without a "bounce" object`}}},
		{file: "samples/mailgun-events.json", format: "mailgun", events: 10, want: []espWant{
			{1, "alice.example@hotmail.com", "accepted", TypeProcessed, "2024-03-05T14:00:00.482915Z", "203.0.113.10", 0, "", "", "20240305140000.1a2b3c4d5e6f7a8b@mg.example.com", 0, ""},
			// failed + temporary is a deferral; the reply starts with the enhanced code.
			{2, "alice.example@hotmail.com", "failed/temporary", TypeDeferred, "2024-03-05T14:00:05.871657Z", "203.0.113.10", 451, "4.7.650", "4.7.650 The mail server [203.0.113.10]", "20240305140000.1a2b3c4d5e6f7a8b@mg.example.com", 1, ""},
			{3, "dan.example@hotmail.com", "failed/temporary", TypeDeferred, "2024-03-05T14:01:06.101Z", "203.0.113.11", 451, "4.7.652", "4.7.652 The mail server [203.0.113.11] has exceeded", "20240305140005.2b3c4d5e6f7a8b9c@mg.example.com", 2, ""},
			{6, "henry.example@hotmail.com", "failed/permanent", TypeBounced, "2024-03-05T14:02:00.324Z", "203.0.113.10", 550, "5.5.0", "5.5.0 Requested action not taken", "20240305140001.5e6f7a8b9c0d1e2f@mg.example.com", 1, ""},
			// Mailgun's own 605 is not an SMTP code; its description is the reply.
			{7, "ivan.example@hotmail.com", "failed/permanent/suppress-bounce", TypeDropped, "2024-03-05T14:02:01.004Z", "203.0.113.10", 0, "", "Not delivering to previously bounced address", "20240305140002.6f7a8b9c0d1e2f3a@mg.example.com", 1, ""},
			{8, "nobody@nomx.example.net", "failed/temporary", TypeDeferred, "2024-03-05T14:02:30.5Z", "203.0.113.10", 498, "", "No MX for [nomx.example.net]", "20240305140002.7a8b9c0d1e2f3a4b@mg.example.com", 3, ""},
			// The reader's "ip" on an open is not a sending IP.
			{9, "erin.example@gmail.com", "opened", TypeOther, "2024-03-05T14:06:40.089676Z", "", 0, "", "", "20240305140000.3c4d5e6f7a8b9c0d@mg.example.com", 0, ""},
			{10, "frank.example@hotmail.com", "complained", TypeComplaint, "2024-03-05T14:15:00.049634Z", "", 0, "", "", "20240305140001.4d5e6f7a8b9c0d1e@mg.example.com", 0, ""},
		}},
		{file: "samples/mailgun-webhook.jsonl", format: "mailgun", events: 5, want: []espWant{
			// A string timestamp with a fraction.
			{1, "alice.example@hotmail.com", "failed/temporary", TypeDeferred, "2024-03-05T14:00:05.871657Z", "203.0.113.10", 451, "4.7.650", "4.7.650 The mail server", "20240305140000.1a2b3c4d5e6f7a8b@mg.example.com", 1, ""},
			{2, "erin.example@gmail.com", "delivered", TypeDelivered, "2024-03-05T14:00:02.626182Z", "203.0.113.10", 250, "2.0.0", "OK", "20240305140000.3c4d5e6f7a8b9c0d@mg.example.com", 1, ""},
		}},
		{file: "esp/mailgun-traps.jsonl", format: "mailgun", events: 5, want: []espWant{
			{1, "uma.example@hotmail.com", "failed/temporary", TypeDeferred, "2024-03-05T14:00:30.25Z", "203.0.113.10", 451, "4.7.650", "4.7.650", "20240305140000.aaaa@mg.example.com", 1, "password-reset"},
			{2, "uma.example@hotmail.com", "failed/temporary", TypeDeferred, "2024-03-06T14:00:30.25Z", "203.0.113.10", 451, "4.7.650", "4.7.650", "20240305140000.aaaa@mg.example.com", 5, "password-reset"},
			// A page per line, "paging" first.
			{4, "vic.example@outlook.com", "delivered", TypeDelivered, "2024-03-05T14:01:00.5Z", "203.0.113.11", 250, "2.6.0", "2.6.0 Queued mail for delivery", "20240305140000.aaaa@mg.example.com", 1, "password-reset"},
			{4, "wes.example@live.com", "failed/permanent", TypeBounced, "2024-03-05T14:01:01Z", "203.0.113.10", 550, "5.7.1", "5.7.1 Unfortunately", "20240305140000.aaaa@mg.example.com", 1, "password-reset"},
		}, rejects: []espReject{{5, `severity "maybe"`}}},
		{file: "samples/postmark-webhooks.jsonl", format: "postmark", events: 6, want: []espWant{
			// 7 fractional digits; no sending IP field.
			{1, "frank.example@hotmail.com", "Delivery", TypeDelivered, "2024-03-05T14:00:03.2735393Z", "", 250, "2.6.0", "smtp;250 2.6.0", "883953f4-6105-42a2-a16a-77a8eac79483", 0, "outbound"},
			{2, "henry.example@hotmail.com", "Bounce/HardBounce", TypeBounced, "2024-03-05T14:02:00.9070259Z", "", 550, "5.5.0", "smtp;550 5.5.0", "2706ee8a-737c-4285-b032-ccd317af53ed", 0, "outbound"},
			// The IP Microsoft quoted is the only sending IP Postmark data has.
			{3, "gina.example@outlook.com", "Bounce/Blocked", TypeBounced, "2024-03-05T14:01:30.118Z", "203.0.113.10", 550, "5.7.1", "smtp;550 5.7.1 Unfortunately, messages from [203.0.113.10]", "4b1e8d2c-9f3a-4c5d-8e7f-1a2b3c4d5e6f", 0, "outbound"},
			// Transient is deferral-like; a -05:00 offset becomes UTC.
			{4, "alice.example@hotmail.com", "Bounce/Transient", TypeDeferred, "2024-03-05T14:05:05.5Z", "203.0.113.10", 451, "4.7.650", "smtp;451 4.7.650", "5c2f9e3d-0a4b-4d6e-9f80-2b3c4d5e6f70", 0, "outbound"},
			{5, "erin.example@gmail.com", "Bounce/SoftBounce", TypeDeferred, "2024-03-05T14:03:00Z", "", 421, "4.7.28", "smtp;421-4.7.28 Gmail has detected", "6d3a0f4e-1b5c-4e7f-a091-3c4d5e6f7081", 0, "outbound"},
			{6, "frank.example@hotmail.com", "SpamComplaint", TypeComplaint, "2024-03-05T14:15:00Z", "", 0, "", "", "883953f4-6105-42a2-a16a-77a8eac79483", 0, "outbound"},
		}},
		{file: "esp/postmark-traps.jsonl", format: "postmark", events: 3, want: []espWant{
			{1, "frank.example@hotmail.com", "Delivery", TypeDelivered, "2024-03-05T14:00:03.2735393Z", "", 250, "2.6.0", "smtp;250 2.6.0", "883953f4-6105-42a2-a16a-77a8eac79483", 0, "outbound"},
			// TypeCode only (4096 = SoftBounce), +01:00 offset.
			{2, "yara.example@gmail.com", "Bounce/SoftBounce", TypeDeferred, "2024-03-05T14:03:20.1234567Z", "", 452, "4.2.2", "smtp;452 4.2.2", "7e4b1a5f-2c6d-4f80-b1a2-4d5e6f708192", 0, "broadcast"},
			{3, "frank.example@hotmail.com", "Open", TypeOther, "2024-03-05T14:30:00Z", "", 0, "", "", "883953f4-6105-42a2-a16a-77a8eac79483", 0, "outbound"},
		}, rejects: []espReject{{4, `RecordType "InboundHook" is not a known Postmark event (map it with --status InboundHook=TYPE)`}}},
		{file: "samples/sparkpost-webhook.json", format: "sparkpost", events: 6, want: []espWant{
			{1, "alice.example@hotmail.com", "injection", TypeProcessed, "2024-03-05T14:00:00Z", "203.0.113.10", 0, "", "", "0004e3724f57753a3861", 0, "password-reset"},
			// raw_reason; num_retries on a delay counts this attempt.
			{2, "alice.example@hotmail.com", "delay", TypeDeferred, "2024-03-05T14:00:05Z", "203.0.113.10", 451, "4.7.650", "451 4.7.650 The mail server", "0004e3724f57753a3861", 1, "password-reset"},
			// ip_address is the receiving MX, not ours.
			{3, "frank.example@hotmail.com", "delivery", TypeDelivered, "2024-03-05T14:00:03Z", "203.0.113.11", 0, "", "", "0004e3724f57753a3861", 1, "password-reset"},
			{4, "henry.example@hotmail.com", "bounce", TypeBounced, "2024-03-05T14:02:00Z", "203.0.113.10", 550, "5.5.0", "550 5.5.0 Requested action", "0004e3724f57753a3861", 0, "password-reset"},
			// An ISO timestamp instead of epoch seconds.
			{6, "erin.example@gmail.com", "delay", TypeDeferred, "2024-03-05T14:03:00Z", "203.0.113.10", 421, "4.7.28", "421-4.7.28 Gmail has detected", "0004e3724f57753a3861", 2, "password-reset"},
		}},
		{file: "esp/sparkpost-traps.json", format: "sparkpost", events: 3, want: []espWant{
			{2, "frank.example@hotmail.com", "open", TypeOther, "2024-03-05T14:10:00Z", "", 0, "", "", "0004e3724f57753a3861", 0, "password-reset"},
			// A numeric timestamp; raw_reason rather than the redacted reason.
			{3, "ada.example@hotmail.com", "bounce", TypeBounced, "2024-03-05T14:03:20Z", "203.0.113.11", 550, "5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ada.example@hotmail.com", "0004e3724f57753a3862", 0, "password-reset"},
			{4, "ben.example@hotmail.com", "generation_failure", TypeDropped, "2024-03-05T14:03:21Z", "", 554, "5.3.3", "554 5.3.3 [internal]", "0004e3724f57753a3863", 0, "password-reset"},
		}, rejects: []espReject{{1, "webhook test ping"}}},
		{file: "samples/mandrill-webhook.json", format: "mandrill", events: 5, want: []espWant{
			// The event's ts, not msg.ts; no attempt logged, so "sent".
			{1, "alice.example@hotmail.com", "send", TypeSent, "2024-03-05T14:00:01Z", "", 0, "", "", "a1b2c3d4e5f60718293a4b5c6d7e8f90", 0, "password-reset"},
			// Reply and IP from the smtp_event the deferral reports.
			{2, "alice.example@hotmail.com", "deferral", TypeDeferred, "2024-03-05T14:00:05Z", "203.0.113.10", 451, "4.7.650", "451 4.7.650 The mail server [203.0.113.10]", "a1b2c3d4e5f60718293a4b5c6d7e8f90", 0, "password-reset"},
			{4, "henry.example@hotmail.com", "hard_bounce", TypeBounced, "2024-03-05T14:02:00Z", "", 550, "5.5.0", "smtp;550 5.5.0", "c3d4e5f60718293a4b5c6d7e8f90a1b2", 0, "password-reset"},
			{5, "bob.example@outlook.com", "soft_bounce", TypeDeferred, "2024-03-06T04:00:00Z", "203.0.113.10", 451, "4.7.650", "smtp;451 4.7.650", "d4e5f60718293a4b5c6d7e8f90a1b2c3", 0, "password-reset"},
		}},
		{file: "esp/mandrill-form.txt", format: "mandrill", events: 2, want: []espWant{
			// Form-encoded bodies; a logged 250 makes "send" a delivery.
			{1, "cleo.example@outlook.com", "send", TypeDelivered, "2024-03-05T14:00:12Z", "203.0.113.11", 250, "2.6.0", "250 2.6.0", "e5f60718293a4b5c6d7e8f90a1b2c3d4", 0, "receipts"},
			// Two attempts logged: the one at the event's ts is the one reported.
			{3, "dora.example@hotmail.com", "deferral", TypeDeferred, "2024-03-05T14:05:00Z", "203.0.113.11", 451, "4.7.652", "451 4.7.652", "f60718293a4b5c6d7e8f90a1b2c3d4e5", 0, ""},
		}, rejects: []espReject{{2, "sync event (blacklist add)"}}},
		{file: "samples/brevo-webhook.jsonl", format: "brevo", events: 6, want: []espWant{
			// ts_epoch (ms, UTC), not ts or date (an hour ahead here).
			{1, "alice.example@hotmail.com", "request", TypeProcessed, "2024-03-05T14:00:00.123Z", "203.0.113.10", 0, "", "", "<202403051400.12345678901@smtp-relay.mailin.fr>", 0, "password-reset"},
			{2, "alice.example@hotmail.com", "deferred", TypeDeferred, "2024-03-05T14:00:05.123Z", "203.0.113.10", 451, "4.7.650", "451 4.7.650", "<202403051400.12345678901@smtp-relay.mailin.fr>", 0, "password-reset"},
			{4, "carol.example@live.com", "soft_bounce", TypeDeferred, "2024-03-05T14:01:10.123Z", "203.0.113.10", 451, "4.7.651", "451 4.7.651", "<202403051400.12345678901@smtp-relay.mailin.fr>", 0, "password-reset"},
			{6, "ivan.example@hotmail.com", "blocked", TypeDropped, "2024-03-05T14:02:01.123Z", "203.0.113.10", 0, "", "blocked : due to blacklist user", "<202403051400.12345678901@smtp-relay.mailin.fr>", 0, "password-reset"},
		}},
		{file: "esp/brevo-traps.jsonl", format: "brevo", events: 2, want: []espWant{
			{1, "frank.example@hotmail.com", "spam", TypeComplaint, "2024-03-05T14:20:00.456Z", "", 0, "", "", "<202403051400.12345678902@smtp-relay.mailin.fr>", 0, ""},
			{2, "frank.example@hotmail.com", "unique_opened", TypeOther, "2024-03-05T14:10:00.789Z", "", 0, "", "", "<202403051400.12345678902@smtp-relay.mailin.fr>", 0, "password-reset"},
		}, rejects: []espReject{{3, `no "ts_epoch" field`}, {4, `"list_addition" is not a known Brevo event`}}},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			f, _, sink := parseFixture(t, c.file)
			if f.Name() != c.format {
				t.Fatalf("detected as %s, want %s", f.Name(), c.format)
			}
			if len(sink.events) != c.events || len(sink.rejects) != len(c.rejects) {
				t.Errorf("%d events and %d rejects, want %d and %d; rejects: %+v", len(sink.events), len(sink.rejects), c.events, len(c.rejects), sink.rejects)
			}
			for _, w := range c.want {
				ev := findEvent(sink.events, w)
				if ev == nil {
					t.Errorf("line %d: no %s event for %s", w.line, w.word, w.rcpt)
					continue
				}
				checkESPEvent(t, ev, w)
			}
			for i, w := range c.rejects {
				if i >= len(sink.rejects) {
					break
				}
				if r := sink.rejects[i]; r.Line != w.line || !strings.Contains(r.Reason, w.reason) || r.Raw == "" {
					t.Errorf("reject %d: line %d %q, want line %d containing %q", i, r.Line, r.Reason, w.line, w.reason)
				}
			}
			// Keys: identical events share one, different events never do.
			seen := map[uint64]Event{}
			for _, e := range sink.events {
				if o, ok := seen[e.Key]; ok && (o.Recipient != e.Recipient || !o.Time.Equal(e.Time) || o.Word != e.Word) {
					t.Errorf("key %x shared by %s %s %v and %s %s %v", e.Key, o.Word, o.Recipient, o.Time, e.Word, e.Recipient, e.Time)
				}
				seen[e.Key] = e
				if e.Time.Location() != time.UTC || e.Domain == "" || e.Key == 0 {
					t.Errorf("line %d: time %v domain %q key %x", e.Line, e.Time, e.Domain, e.Key)
				}
			}
		})
	}
}

func findEvent(evs []Event, w espWant) *Event {
	for i := range evs {
		e := &evs[i]
		if e.Line == w.line && e.Recipient == w.rcpt && e.Word == w.word {
			return e
		}
	}
	return nil
}

func checkESPEvent(t *testing.T, e *Event, w espWant) {
	t.Helper()
	got := []any{e.Type, e.Time.UTC().Format(time.RFC3339Nano), e.SendingIP, e.SMTPCode, e.EnhancedCode, e.MessageID, e.Attempt, e.Class}
	want := []any{w.typ, w.time, w.ip, w.code, w.enh, w.mid, w.attempt, w.class}
	names := []string{"type", "time", "sending ip", "smtp code", "enhanced code", "message id", "attempt", "class"}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("line %d %s %s: %s = %v, want %v", w.line, w.rcpt, w.word, names[i], got[i], want[i])
		}
	}
	if (w.reply == "") != (e.Reply == "") || !strings.HasPrefix(e.Reply, w.reply) {
		t.Errorf("line %d %s %s: reply %q, want it to start with %q", w.line, w.rcpt, w.word, e.Reply, w.reply)
	}
	if at := strings.LastIndexByte(e.Recipient, '@'); e.Domain != e.Recipient[at+1:] {
		t.Errorf("line %d: domain %q for %q", w.line, e.Domain, e.Recipient)
	}
}

// TestDetectionIsExclusive sniffs every fixture with every format: exactly
// the expected one may claim it, so the registry's order never decides.
func TestDetectionIsExclusive(t *testing.T) {
	// By file name prefix; longer prefixes first.
	expect := []struct{ prefix, format string }{
		{"sendgrid", "sendgrid"}, {"ses", "ses"}, {"mailgun", "mailgun"}, {"postmark", "postmark"},
		{"sparkpost", "sparkpost"}, {"mandrill", "mandrill"}, {"brevo", "brevo"},
		{"kumomta", "kumomta"}, {"postfix", "postfix"}, {"exim", "exim"}, {"powermta", "powermta"},
		{"snds-export", "snds"}, {"snds-ipstatus", "snds-status"}, {"sql-minute-counts", "counts"}, {"sql-export", "csv"},
	}
	var files []string
	for _, dir := range []string{"samples", "esp"} {
		m, _ := filepath.Glob(filepath.Join("..", "testdata", dir, "*"))
		files = append(files, m...)
	}
	if len(files) < 25 {
		t.Fatalf("only %d fixtures found", len(files))
	}
	reg := NewRegistry()
	for _, path := range files {
		name := filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > sniffSize {
			data = data[:sniffSize]
		}
		var claimed []string
		for _, f := range reg.formats {
			if ok, why := f.Sniff(data); ok {
				// The CSV reader takes any CSV with a header line: it comes
				// last and may claim CSV-shaped files along with their own format.
				if f.Name() == "csv" && len(claimed) > 0 {
					continue
				}
				claimed = append(claimed, f.Name())
				if why == "" {
					t.Errorf("%s: %s claims it without saying why", name, f.Name())
				}
			}
		}
		want := ""
		for _, e := range expect {
			if strings.HasPrefix(name, e.prefix) {
				want = e.format
				break
			}
		}
		if want == "" {
			// A sample of a format this test does not know yet: it must not
			// be claimed by two formats.
			if len(claimed) > 1 {
				t.Errorf("%s: claimed by %v", name, claimed)
			}
			continue
		}
		if len(claimed) != 1 || claimed[0] != want {
			t.Errorf("%s: claimed by %v, want only %s", name, claimed, want)
		}
	}
}

// TestESPDuplicatesAcrossChannels ingests the same events delivered through
// different channels (Firehose and SNS; Events API and webhooks) and
// repeated records, and checks they are stored once.
func TestESPDuplicatesAcrossChannels(t *testing.T) {
	cases := []struct {
		files               []string
		read, stored, dupes int64
	}{
		// The SNS file repeats three of the Firehose file's events.
		{[]string{"samples/ses-events.jsonl", "samples/ses-sns-envelopes.jsonl"}, 11, 8, 3},
		// Every webhook body repeats an event of the API page.
		{[]string{"samples/mailgun-events.json", "samples/mailgun-webhook.jsonl"}, 15, 10, 5},
		// Same id a day later is a new event; the same id the same day is not.
		{[]string{"esp/mailgun-traps.jsonl"}, 6, 4, 1},
		// "ServerId" and "ServerID" spell the same field.
		{[]string{"samples/postmark-webhooks.jsonl", "esp/postmark-traps.jsonl"}, 10, 8, 1},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.files, "+"), func(t *testing.T) {
			s := openTemp(t)
			var inputs []Input
			for _, f := range c.files {
				inputs = append(inputs, Input{Name: filepath.Join("..", "testdata", f)})
			}
			sum, err := Ingest(context.Background(), s, inputs, Options{Enrich: testEnrich})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Read != c.read || sum.Stored != c.stored || sum.Duplicates != c.dupes {
				t.Errorf("read %d stored %d duplicates %d rejected %d, want %d %d %d", sum.Read, sum.Stored, sum.Duplicates, sum.Rejected, c.read, c.stored, c.dupes)
			}
			checkConsistent(t, s)
			again, err := Ingest(context.Background(), s, inputs, Options{Enrich: testEnrich})
			if err != nil {
				t.Fatal(err)
			}
			if again.Stored != 0 || again.Duplicates != c.stored+c.dupes {
				t.Errorf("second run stored %d duplicates %d", again.Stored, again.Duplicates)
			}
		})
	}
}
