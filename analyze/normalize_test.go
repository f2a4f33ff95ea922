package analyze

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestNormalizeReply(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{
			"451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775)",
			"451 4.7.650 the mail server [<ip>] has been temporarily rate limited due to ip reputation. for e-mail delivery information, see https://aka.ms/postmaster (s775)",
		},
		{
			"550 5.7.509 Access denied, sending domain [DF.EXAMPLE.JP] does not pass DMARC verification and has a DMARC policy of reject. [TYCP286MB3363.JPNP286.PROD.OUTLOOK.COM 2024-06-11T09:04:02.679Z 08DC8850F12E1502]",
			"550 5.7.509 access denied, sending domain [df.example.jp] does not pass dmarc verification and has a dmarc policy of reject. [<msserver> <time> <hex>]",
		},
		{
			"host gmail-smtp-in.l.google.com[142.251.2.27] said: 550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser d75a77b69052e-42ee0f1c5fbsi1234567qtb.123 - gsmtp (in reply to RCPT TO command)",
			"550 5.1.1 the email account that you tried to reach does not exist. https://support.google.com/mail/?p=nosuchuser <id> - gsmtp (in reply to rcpt to)",
		},
		{
			"550 5.1.1 <kijitora@example.jp>: Recipient address rejected: User unknown in local recipient table",
			"550 5.1.1 <addr>: recipient address rejected: user unknown in local recipient table",
		},
		{
			"554 delivery error: dd This user doesn't have a example.com account (kijitora@example.com) [0] - mta1082.mail.bf1.example.com",
			"554 delivery error: dd this user doesn't have a example.com account (<addr>) [0] - #.mail.#.example.com",
		},
		{
			// Another machine in another data centre: the same group.
			"554 delivery error: dd This user doesn't have a example.com account (neko@example.com) [0] - mta7.mail.gq1.example.com",
			"554 delivery error: dd this user doesn't have a example.com account (<addr>) [0] - #.mail.#.example.com",
		},
		{
			"552 5.2.3 Message size exceeds fixed maximum message size (10485760)",
			"552 5.2.3 message size exceeds fixed maximum message size (<hex>)",
		},
		{
			"550-5.7.1 [2401:2500:102:3032:192.0.2.222      13] Messages with multiple 550 5.7.1 addresses in From: header are not accepted. v14si1155795plk.134 - gsmtp",
			"550 5.7.1 [<ip> 13] messages with multiple addresses in from: header are not accepted. <id> - gsmtp",
		},
	}
	for _, tt := range tests {
		if got := NormalizeReply(tt.in); got != tt.want {
			t.Errorf("NormalizeReply(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestNormalizeCollapsesVariants builds 10,000 variants of each of a few real
// replies, varying only what changes per message, and expects one key each.
func TestNormalizeCollapsesVariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	templates := []string{
		"451 4.7.650 The mail server [{ip}] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S843) [{srv} {ts} {hex}]",
		"421-4.7.28 Gmail has detected an unusual rate of unsolicited mail. To protect 421-4.7.28 our users from spam, mail has been temporarily rate limited. 421 4.7.28 https://support.google.com/mail/?p=UnsolicitedRateLimitError {gid} - gsmtp",
		"host mx-eu.mail.am0.yahoodns.net[{ip}] said: 421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command)",
		"550 5.1.1 <{addr}>: Recipient address rejected: User unknown in virtual mailbox table",
		"250 2.0.0 Ok: queued as {qid}",
	}
	for _, tmpl := range templates {
		keys := map[string]int{}
		for i := 0; i < 10000; i++ {
			keys[NormalizeReply(fillTemplate(rng, tmpl))]++
		}
		if len(keys) != 1 {
			n := 0
			for k := range keys {
				if n++; n > 3 {
					break
				}
				t.Logf("key: %s", k)
			}
			t.Errorf("%d keys for template %q, want 1", len(keys), tmpl)
		}
	}
}

// TestNormalizeKeepsMeaning checks that different replies, or the same reply
// with a different provider rule id, do not share a key.
func TestNormalizeKeepsMeaning(t *testing.T) {
	distinct := []string{
		"451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775)",
		"451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S843)",
		"451 4.7.651 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775)",
		"451 4.7.652 The mail server [203.0.113.11] has exceeded the maximum number of connections.",
		"421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to user complaints - 4.16.55.1; see https://help.yahoo.com/kb/postmaster/SLN3434.html",
		"421 4.7.0 [TSS02] Messages from 203.0.113.7 temporarily deferred due to user complaints - 4.16.55.1; see https://help.yahoo.com/kb/postmaster/SLN3434.html",
		"550 5.7.606 Access denied, banned sending IP [192.0.2.225]. (AS16012609)",
		"550 5.7.606 Access denied, banned sending IP [192.0.2.225]. (AS16012607)",
		"550 5.1.1 user unknown",
		"450 4.1.1 user unknown",
	}
	seen := map[string]string{}
	for _, s := range distinct {
		k := NormalizeReply(s)
		if prev, ok := seen[k]; ok {
			t.Errorf("same key %q for\n%s\n%s", k, prev, s)
		}
		seen[k] = s
	}
}

// fillTemplate replaces {ip}, {addr}, {srv}, {ts}, {hex}, {gid} and {qid} with
// random values of the kind real replies carry.
func fillTemplate(rng *rand.Rand, tmpl string) string {
	out := make([]byte, 0, len(tmpl)+64)
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '{' {
			out = append(out, tmpl[i])
			continue
		}
		j := i + 1
		for j < len(tmpl) && tmpl[j] != '}' {
			j++
		}
		switch tmpl[i+1 : j] {
		case "ip":
			out = fmt.Appendf(out, "%d.%d.%d.%d", 1+rng.IntN(223), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
		case "addr":
			out = fmt.Appendf(out, "%s%d@%s.example", randWord(rng, 3+rng.IntN(8)), rng.IntN(1000), randWord(rng, 4+rng.IntN(6)))
		case "srv":
			out = fmt.Appendf(out, "%s%dPR%02dMB%04d.%sPRD%02d.PROD.OUTLOOK.COM", []string{"DM6", "HE1", "TY1", "BL2"}[rng.IntN(4)],
				rng.IntN(10), rng.IntN(100), rng.IntN(10000), []string{"NAM", "EUR", "JPN", "APC"}[rng.IntN(4)], rng.IntN(100))
		case "ts":
			out = fmt.Appendf(out, "2024-%02d-%02dT%02d:%02d:%02d.%03dZ", 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(1000))
		case "hex":
			out = fmt.Appendf(out, "08DC%012X", rng.Uint64()&0xffffffffffff)
		case "gid":
			out = fmt.Appendf(out, "%s%d-%x%s%dsi%d%s.%d", randWord(rng, 1), rng.IntN(100), rng.Uint64(), randWord(rng, 1), rng.IntN(1e6), rng.IntN(1e7), randWord(rng, 3), rng.IntN(1000))
		case "sip":
			out = fmt.Appendf(out, "203.0.113.%d", 10+rng.IntN(4))
		case "mxip":
			out = fmt.Appendf(out, "52.101.%d.%d", 60+rng.IntN(4), 30+rng.IntN(8))
		case "sdom":
			out = append(out, []string{"NEWS.EXAMPLE.COM", "EXAMPLE.COM", "MAIL.EXAMPLE.NET"}[rng.IntN(3)]...)
		case "word":
			out = append(out, randWord(rng, 3+rng.IntN(8))...)
		case "qid":
			out = fmt.Appendf(out, "%X", rng.Uint64()&0xffffffffff|0x1000000000)
		}
		i = j
	}
	return string(out)
}

func randWord(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rng.IntN(26))
	}
	return string(b)
}
