package analyze

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseReply(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Reply
	}{
		{
			name: "flattened multi-line Gmail reply",
			in:   "550-5.7.26 Unauthenticated email from libsisimai.org is not accepted due to 550-5.7.26 domain's DMARC policy. Please contact the administrator of 550-5.7.26 libsisimai.org domain if this was a legitimate mail. Please visit 550-5.7.26 https://support.google.com/mail/answer/2451690 to learn about the 550 5.7.26 DMARC initiative. z2si1584129pfn.61 - gsmtp",
			want: Reply{Code: 550, Enhanced: "5.7.26",
				Text:   "Unauthenticated email from libsisimai.org is not accepted due to domain's DMARC policy. Please contact the administrator of libsisimai.org domain if this was a legitimate mail. Please visit https://support.google.com/mail/answer/2451690 to learn about the DMARC initiative. z2si1584129pfn.61 - gsmtp",
				Suffix: "gsmtp", class: '5'},
		},
		{
			name: "real line breaks",
			in:   "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail.\r\n421-4.7.28 To protect our users from spam, mail has been temporarily rate limited.\r\n421 4.7.28 https://support.google.com/mail/?p=UnsolicitedRateLimitError m17si2950.19 - gsmtp",
			want: Reply{Code: 421, Enhanced: "4.7.28",
				Text:          "Gmail has detected an unusual rate of unsolicited mail. To protect our users from spam, mail has been temporarily rate limited. https://support.google.com/mail/?p=UnsolicitedRateLimitError m17si2950.19 - gsmtp",
				ProviderCodes: []string{"p=UnsolicitedRateLimitError"}, Suffix: "gsmtp", class: '4'},
		},
		{
			name: "Postfix host said and in reply to",
			in:   "host hotmail-com.olc.protection.outlook.com[52.101.68.38] said: 451 4.7.652 The mail server [203.0.113.11] has exceeded the maximum number of connections. (in reply to MAIL FROM command)",
			want: Reply{Code: 451, Enhanced: "4.7.652", Text: "The mail server [203.0.113.11] has exceeded the maximum number of connections.",
				Stage: "MAIL FROM", Host: "hotmail-com.olc.protection.outlook.com", HostIP: "52.101.68.38", SendingIP: "203.0.113.11", class: '4'},
		},
		{
			name: "smtp; prefix, S-code and Microsoft trailer",
			in:   "smtp; 550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [HE1EUR01FT020.eop-EUR01.prod.protection.outlook.com 2024-03-05T14:02:00.324Z 08DC3D1E5C8B3A20]",
			want: Reply{Code: 550, Enhanced: "5.5.0",
				Text:          "Requested action not taken: mailbox unavailable (S2017062302). [HE1EUR01FT020.eop-EUR01.prod.protection.outlook.com 2024-03-05T14:02:00.324Z 08DC3D1E5C8B3A20]",
				ProviderCodes: []string{"S2017062302"}, Server: "HE1EUR01FT020.eop-EUR01.prod.protection.outlook.com",
				ServerTime: "2024-03-05T14:02:00.324Z", CorrelationID: "08DC3D1E5C8B3A20", class: '5'},
		},
		{
			name: "SMTP; prefix with AS code",
			in:   "SMTP; 451 4.7.500 Server busy. Please try again later from [192.0.2.7]. (AS77712344) [#.prod.protection.outlook.com]",
			want: Reply{Code: 451, Enhanced: "4.7.500", Text: "Server busy. Please try again later from [192.0.2.7]. (AS77712344) [#.prod.protection.outlook.com]",
				ProviderCodes: []string{"AS77712344"}, SendingIP: "192.0.2.7", Server: "#.prod.protection.outlook.com", class: '4'},
		},
		{
			// Constructed to exercise the AS(nnnn), bare ASnnn and agent annotation forms together.
			name: "Microsoft agent annotation, AS(...) and bare AS code",
			in:   "550 5.7.1 Message rejected AS(7300) AS843 [Name=Protocol Filter Agent][AGT=PFA][MxId=11BA8B9A4E81DD13] [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]",
			want: Reply{Code: 550, Enhanced: "5.7.1",
				Text:          "Message rejected AS(7300) AS843 [Name=Protocol Filter Agent][AGT=PFA][MxId=11BA8B9A4E81DD13] [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]",
				ProviderCodes: []string{"AS7300", "AS843"}, Agent: "Protocol Filter Agent", AgentCode: "PFA", MxID: "11BA8B9A4E81DD13", class: '5'},
		},
		{
			name: "Yahoo TSS code; 4.16.55.1 is not a status code",
			in:   "421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
			want: Reply{Code: 421, Enhanced: "4.7.0",
				Text:          "[TSS04] Messages from 203.0.113.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
				ProviderCodes: []string{"TSS04"}, SendingIP: "203.0.113.7", class: '4'},
		},
		{
			name: "Yahoo colon form",
			in:   "550: 5.2.2 <mailboxfull@libsisimai.org>... Mailbox Full",
			want: Reply{Code: 550, Enhanced: "5.2.2", Text: "<mailboxfull@libsisimai.org>... Mailbox Full", class: '5'},
		},
		{
			name: "qmail status in the text",
			in:   "Sorry, no mailbox here by that name. (#5.1.1)",
			want: Reply{Enhanced: "5.1.1", Text: "Sorry, no mailbox here by that name. (#5.1.1)", class: '5'},
		},
		{
			name: "Amazon SES wrapper around the remote reply",
			in:   "5.1.0 - Unknown address error 550-'5.2.2 <kijitora@example.jp>... Mailbox Full' (delivery attempts: 0)",
			want: Reply{Code: 550, Enhanced: "5.2.2", Text: "<kijitora@example.jp>... Mailbox Full", class: '5'},
		},
		{
			name: "2xx greeting before the real reply",
			in:   "220-laposte 421 4.2.1 Service refuse. Veuillez essayer plus tard. Service refused, please try later. LPN006_107",
			want: Reply{Code: 421, Enhanced: "4.2.1", Text: "Service refuse. Veuillez essayer plus tard. Service refused, please try later. LPN006_107",
				ProviderCodes: []string{"LPN006_107"}, class: '4'},
		},
		{
			name: "Exim SMTP error after initial connection",
			in:   "host xx.comcast.net [192.0.2.9]: SMTP error from remote mail server after initial connection: 554 xx.comcast.net comcast 192.0.2.1 Comcast block for spam. Please see http://postmaster.comcast.net/smtp-error-codes.php#BL000000",
			want: Reply{Code: 554, Text: "xx.comcast.net comcast 192.0.2.1 Comcast block for spam. Please see http://postmaster.comcast.net/smtp-error-codes.php#BL000000",
				Stage: "CONNECT", Host: "xx.comcast.net", HostIP: "192.0.2.9", ProviderCodes: []string{"BL000000"}, class: '5'},
		},
		{
			name: "Postfix refused to talk to me",
			in:   "host mfsmax.example.net[203.0.113.127] refused to talk to me: 421 Service not available, closing transmission channel",
			want: Reply{Code: 421, Text: "Service not available, closing transmission channel", Stage: "CONNECT",
				Host: "mfsmax.example.net", HostIP: "203.0.113.127", class: '4'},
		},
		{
			name: "invalid subject is not an enhanced code",
			in:   "550 5.9.210 something",
			want: Reply{Code: 550, Text: "5.9.210 something", class: '5'},
		},
		{
			name: "legacy Outlook.com code and Orange code",
			in:   "550 SC-004 (COL0-MC1-F1) Unfortunately, messages from 111.86.156.22 weren't sent. OFR_999 [999]",
			want: Reply{Code: 550, Text: "SC-004 (COL0-MC1-F1) Unfortunately, messages from 111.86.156.22 weren't sent. OFR_999 [999]",
				ProviderCodes: []string{"SC-004", "OFR_999"}, SendingIP: "111.86.156.22", class: '5'},
		},
		{
			name: "port after a host is not a reply code",
			in:   "connect to example.org[203.0.113.225]:465: Connection refused",
			want: Reply{Text: "connect to example.org[203.0.113.225]:465: Connection refused", Host: "example.org", HostIP: "203.0.113.225"},
		},
		{
			name: "empty",
			in:   "   ",
			want: Reply{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseReply(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseReply(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseReplyTemporary(t *testing.T) {
	tests := []struct {
		in          string
		temp, known bool
	}{
		{"451 4.7.650 The mail server [x] has been temporarily rate limited", true, true},
		{"554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>", false, true},
		{"delivery temporarily suspended: connect to mx[192.0.2.1]: server refused to talk to me: 421 Service not available", true, true},
		{"Resources temporarily unavailable, please try again later [#4.1.9]", true, true},
		{"250 2.6.0 Message received", false, true},
		{"retry timeout exceeded", false, false},
	}
	for _, tt := range tests {
		temp, known := ParseReply(tt.in).Temporary()
		if temp != tt.temp || known != tt.known {
			t.Errorf("Temporary(%q) = %v, %v; want %v, %v", tt.in, temp, known, tt.temp, tt.known)
		}
	}
}

// TestParseReplyBounded checks that a huge input is cut, not scanned whole.
func TestParseReplyBounded(t *testing.T) {
	huge := "550 5.1.1 " + strings.Repeat("user unknown ", 200000)
	r := ParseReply(huge)
	if r.Code != 550 || r.Enhanced != "5.1.1" {
		t.Fatalf("codes = %d %q", r.Code, r.Enhanced)
	}
	if len(r.Text) > MaxReplyLen {
		t.Errorf("text is %d bytes, want at most %d", len(r.Text), MaxReplyLen)
	}
}

func FuzzParseReply(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := ParseReply(s)
		if r.Code != 0 && (r.Code < 200 || r.Code > 599) {
			t.Errorf("code %d out of range", r.Code)
		}
		if r.Enhanced != "" {
			if e, n := scanEnhanced(r.Enhanced, 0); e != r.Enhanced || n != len(r.Enhanced) {
				t.Errorf("enhanced code %q is not valid", r.Enhanced)
			}
		}
		if !utf8.ValidString(r.Text) {
			t.Errorf("text is not valid UTF-8: %q", r.Text)
		}
		if len(r.Text) > 3*MaxReplyLen {
			t.Errorf("text grew to %d bytes", len(r.Text))
		}
		key := r.Key()
		if !utf8.ValidString(key) {
			t.Errorf("key is not valid UTF-8: %q", key)
		}
	})
}

// fuzzSeeds are real replies of every shape the parser knows, plus edge cases.
var fuzzSeeds = []string{
	"",
	"550",
	"550-",
	"5.1.1",
	"#5.",
	"host  said:",
	"(in reply to",
	"smtp;",
	"[Name=",
	"AS(",
	"220-x 421",
	"\xff\xfe550 5.7.1 \x00",
	"451 4.7.650 The mail server [203.0.113.10] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775)",
	"550-5.7.26 Unauthenticated email from example.jp is not accepted due to domain's 550-5.7.26 DMARC policy. 550 5.7.26  https://support.google.com/mail/?p=DmarcRejection 98e67ed59e1d1-2c2d0e28189si6418580a91.13 - gsmtp",
	"host mx-eu.mail.am0.yahoodns.net[192.0.2.1] said: 421 4.7.0 [TSS04] Messages from 192.0.2.2 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command)",
	"550 5.7.509 Access denied, sending domain [DF.EXAMPLE.JP] does not pass DMARC verification and has a DMARC policy of reject. [TYCP286MB3363.JPNP286.PROD.OUTLOOK.COM 2024-06-11T09:04:02.679Z 08DC8850F12E1502]",
	"5.1.0 - Unknown address error 550-'5.7.1 <a@b.example>... Access denied' (delivery attempts: 0)",
	"554-gmx.net (mxgmx104) Nemesis ESMTP Service not available 554-No SMTP service 554-IP address is block listed. 554 For explanation visit https://postmaster.gmx.net/en/case?c=r0201&i=ip&v=198.51.100.42&r=1MNcgj-1ue23t3pyV-00S2YR",
	"SMTP error from remote mail server after RCPT TO:<a@example.org>: 550 5.1.1 <a@example.org>: Recipient address rejected: User unknown",
	"550 Access denied AS(1234) [Name=Protocol Filter Agent][AGT=PFA][MxId=11BA8B9A4E81DD13]",
	"ユーザーNeko (kijitora@example.co.jp) は Domino ディレクトリには見つかりません。",
}
