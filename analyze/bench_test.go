package analyze

import (
	"math/rand/v2"
	"testing"
	"time"
)

// benchTemplates is a realistic mix of stored replies during a Microsoft
// throttling incident: mostly Outlook.com deferrals, Gmail and Yahoo
// deferrals, ordinary bounces. {..} parts vary per message as in real logs:
// {sip} is one of 4 sending IPs, {mxip} one of 32 receiving MX addresses,
// {ip} any address; addresses, session ids and trailers are always new.
var benchTemplates = []struct {
	weight int
	tmpl   string
}{
	{300, "host hotmail-com.olc.protection.outlook.com[{mxip}] said: 451 4.7.650 The mail server [{sip}] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775) (in reply to RCPT TO command)"},
	{60, "451 4.7.651 The mail server [{sip}] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S3114) [{srv} {ts} {hex}]"},
	{50, "host outlook-com.olc.protection.outlook.com[{mxip}] said: 451 4.7.652 The mail server [{sip}] has exceeded the maximum number of connections. (in reply to MAIL FROM command)"},
	{40, "451 4.7.500 Server busy. Please try again later from [{sip}]. (AS843) [{srv} {ts} {hex}]"},
	{30, "550 5.7.1 Unfortunately, messages from [{sip}] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3140). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. [{srv}]"},
	{50, "smtp; 550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [{srv} {ts} {hex}]"},
	{100, "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail. To protect 421-4.7.28 our users from spam, mail has been temporarily rate limited. Please 421-4.7.28 visit 421-4.7.28  https://support.google.com/mail/?p=UnsolicitedRateLimitError to 421 4.7.28 review our Bulk Email Senders Guidelines. {gid} - gsmtp"},
	{80, "host gmail-smtp-in.l.google.com[{mxip}] said: 550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser {gid} - gsmtp (in reply to RCPT TO command)"},
	{100, "host mx-eu.mail.am0.yahoodns.net[{mxip}] said: 421 4.7.0 [TSS04] Messages from {sip} temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command)"},
	{80, "550 5.1.1 <{addr}>: Recipient address rejected: User unknown in virtual mailbox table"},
	{40, "552 5.2.2 <{addr}>: Recipient address rejected: Mailbox full"},
	{40, "connect to mx.{word}.example[{ip}]:25: Connection timed out"},
	{20, "550 5.7.509 Access denied, sending domain [{sdom}] does not pass DMARC verification and has a DMARC policy of reject. [{srv} {ts} {hex}]"},
	{10, "554 5.7.1 Service unavailable; Client host [{sip}] blocked using zen.spamhaus.org"},
}

func benchReplies(n int) []string {
	rng := rand.New(rand.NewPCG(7, 11))
	total := 0
	for _, t := range benchTemplates {
		total += t.weight
	}
	out := make([]string, n)
	for i := range out {
		w := rng.IntN(total)
		for _, t := range benchTemplates {
			if w -= t.weight; w < 0 {
				out[i] = fillTemplate(rng, t.tmpl)
				break
			}
		}
	}
	return out
}

// BenchmarkClassify1M classifies one million generated replies per
// iteration with a fresh classifier, as a refresh of a store would.
func BenchmarkClassify1M(b *testing.B) {
	replies := benchReplies(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := processCPU()
	for i := 0; i < b.N; i++ {
		c, err := NewClassifier()
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range replies {
			_ = c.Classify(r)
		}
	}
	reportPerReply(b, cpu0, cpuOK)
}

// BenchmarkClassifyAll1M is BenchmarkClassify1M through ClassifyAll, which
// spreads the work over all CPUs.
func BenchmarkClassifyAll1M(b *testing.B) {
	replies := benchReplies(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := processCPU()
	for i := 0; i < b.N; i++ {
		c, err := NewClassifier()
		if err != nil {
			b.Fatal(err)
		}
		if out := c.ClassifyAll(replies); len(out) != len(replies) {
			b.Fatalf("%d results for %d replies", len(out), len(replies))
		}
	}
	reportPerReply(b, cpu0, cpuOK)
}

// reportPerReply reports wall and CPU time per reply of a 1M-reply
// benchmark; CPU time includes the garbage collector's.
func reportPerReply(b *testing.B, cpu0 time.Duration, cpuOK bool) {
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ns/reply")
	if cpu1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N)/1e6, "cpu-ns/reply")
	}
}

// BenchmarkClassifyDistinct measures the uncached path: every reply has a
// key of its own, so every call runs the rule list.
func BenchmarkClassifyDistinct(b *testing.B) {
	replies := benchReplies(4096)
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range replies {
		replies[i] += " " + randWord(rng, 12)
	}
	c, err := NewClassifier()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := ParseReply(replies[i%len(replies)])
		key := r.Key()
		_ = c.match(r, key, c.providerOf(key, r.ProviderCodes, r.Enhanced))
	}
}

func BenchmarkParseReply(b *testing.B) {
	replies := benchReplies(4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = ParseReply(replies[i%len(replies)])
	}
}

func BenchmarkNormalizeReply(b *testing.B) {
	replies := benchReplies(4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = NormalizeReply(replies[i%len(replies)])
	}
}
