package example

import "strconv"

// Reply texts are real shapes seen from each kind of receiving server (see
// testdata/incident/README.md for sources); the variable parts (ids, server
// names, timestamps, sizes) are drawn at random.

var (
	olcNam     = []string{"DM6", "BN8", "SN7", "CH3", "MW4", "PH7", "SA1", "BY5", "CO6", "DS0", "IA1", "LV3"}
	olcEur     = []string{"AM0", "AM6", "DB9", "VI1", "PA4", "AS8", "DU0", "GV1"}
	eopNam     = []string{"BN1", "BN2", "CO1", "DM3", "SN1", "BY2"}
	eopEur     = []string{"AM1", "DB5", "HE1", "VE1"}
	yahooSites = []string{"bf1", "gq1", "ne1"}
	// sendgridHosts name the ESP's outbound SMTP machines in Message-ID headers.
	sendgridHosts = []string{"ismtpd0006p1sjc2", "ismtpd0012p1iad2", "ismtpd0031p1las1", "ismtpd0047p1mdw1", "ismtpd0103p1iad2"}
	// filterPods stand in for the ESP's intake pods inside its message ids.
	filterPods = []string{"p3mdw1-77d77b4d7d-b9lcr", "p3las1-5c8f5d9b6-xk2wq", "p3iad2-6b7f9c8d45-m4t7z",
		"p3mdw1-77d77b4d7d-qq8vn", "p3las1-5c8f5d9b6-r7hbd", "p3iad2-6b7f9c8d45-j2lfs"}
)

func (s *source) item(list []string) string { return list[s.intn(int64(len(list)))] }

// appendOLCHost appends a mailbox server name like DM6PR11MB4459.namprd11.prod.outlook.com.
func (s *source) appendOLCHost(b []byte) []byte {
	n := s.between(1, 20)
	prefixes, region := olcNam, ".namprd"
	if s.intn(3) == 0 {
		prefixes, region = olcEur, ".eurprd"
	}
	b = append(b, s.item(prefixes)...)
	b = append(b, "PR"...)
	b = append2(b, n)
	b = append(b, "MB"...)
	b = s.appendRand(b, digits, 4)
	b = append(b, region...)
	b = append2(b, n)
	return append(b, ".prod.outlook.com"...)
}

// appendEOPTrailer appends Microsoft's "[server time correlation-id]" tail.
func (s *source) appendEOPTrailer(b []byte, t int64) []byte {
	b = append(b, '[')
	n := s.between(1, 13)
	if s.intn(3) == 0 {
		b = append(b, s.item(eopEur)...)
		b = append(b, "EUR"...)
		b = append2(b, n)
		b = append(b, "FT"...)
		b = s.appendRand(b, digits, 3)
		b = append(b, ".eop-EUR"...)
	} else {
		b = append(b, s.item(eopNam)...)
		b = append(b, "NAM"...)
		b = append2(b, n)
		b = append(b, "FT"...)
		b = s.appendRand(b, digits, 3)
		b = append(b, ".eop-nam"...)
	}
	b = append2(b, n)
	b = append(b, ".prod.protection.outlook.com "...)
	b = appendISOMillis(b, t)
	b = append(b, ' ')
	return append(s.appendCorrelation(b, t), ']')
}

// appendCorrelation appends a 16-hex-digit correlation id. Microsoft's carry
// the .NET tick count of about the time in their high half (08DE73... in
// February 2026).
func (s *source) appendCorrelation(b []byte, t int64) []byte {
	ticks := uint64(t+62135596800*usSecond) * 10
	hi := ticks >> 32
	for i := 7; i >= 0; i-- {
		b = append(b, hexUpper[hi>>(4*uint(i))&0xf])
	}
	return s.appendRand(b, hexUpper, 8)
}

func (s *source) appendMessageIDHeader(b []byte, xMessageID []byte) []byte {
	b = append(b, '<')
	b = append(b, xMessageID...)
	b = append(b, '@')
	b = append(b, s.item(sendgridHosts)...)
	return append(b, ".sendgrid.net>"...)
}

// appendQueued appends Exchange's "250 2.6.0 <id> [InternalId=…, Hostname=…]
// N bytes in s, r KB/sec Queued mail for delivery".
func (s *source) appendQueued(b []byte, xMessageID []byte, stream uint8) []byte {
	b = append(b, "250 2.6.0 "...)
	b = s.appendMessageIDHeader(b, xMessageID)
	b = append(b, " [InternalId="...)
	b = strconv.AppendInt(b, s.between(10_000_000_000_000, 99_999_999_999_999), 10)
	b = append(b, ", Hostname="...)
	b = s.appendOLCHost(b)
	b = append(b, "] "...)
	var size int64
	if stream == streamNewsletter {
		size = s.between(38_000, 64_000)
	} else {
		size = s.between(6_000, 19_000)
	}
	ms := s.between(40, 900) // transfer time in ms
	b = strconv.AppendInt(b, size, 10)
	b = append(b, " bytes in 0."...)
	b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	b = append(b, ", "...)
	// KB/sec with three decimals, in integers: size/1024/(ms/1000).
	rate := size * 1_000_000 / (1024 * ms) // thousandths of KB/sec
	b = strconv.AppendInt(b, rate/1000, 10)
	b = append(b, '.', byte('0'+rate/100%10), byte('0'+rate/10%10), byte('0'+rate%10))
	return append(b, " KB/sec Queued mail for delivery"...)
}

func (s *source) appendOutlookDelivered(b []byte, xMessageID []byte, stream uint8) []byte {
	return append(s.appendQueued(b, xMessageID, stream), " -> 250 2.1.5"...)
}

// appendRateLimited appends the Outlook.com S775 deferral for a sending IP.
func (s *source) appendRateLimited(b []byte, ip int, t int64) []byte {
	b = append(b, "451 4.7.650 The mail server ["...)
	b = append(b, ipText[ip]...)
	b = append(b, "] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://aka.ms/postmaster (S775) [Name=Protocol Filter Agent][AGT=PFA][MxId=11B"...)
	b = s.appendRand(b, hexUpper, 13)
	b = append(b, "] "...)
	return s.appendEOPTrailer(b, t)
}

func (s *source) appendOutlookUnknown(b []byte, t int64) []byte {
	b = append(b, "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). "...)
	return s.appendEOPTrailer(b, t)
}

// appendGsmtpID appends Google's per-transaction id, e.g.
// d75a77b69052e-42ee0f1c5fbsi1234567qtb.123.
func (s *source) appendGsmtpID(b []byte) []byte {
	b = s.appendRand(b, hexLower, 13)
	b = append(b, '-')
	b = s.appendRand(b, hexLower, 11)
	b = append(b, "si"...)
	b = s.appendRand(b, digits, 7)
	b = s.appendRand(b, lower, 3)
	b = append(b, '.')
	b = strconv.AppendInt(b, s.between(1, 1000), 10)
	return append(b, " - gsmtp"...)
}

func (s *source) appendGmailDelivered(b []byte, t int64) []byte {
	b = append(b, "250 2.0.0 OK  "...)
	b = strconv.AppendInt(b, t/usSecond, 10)
	b = append(b, ' ')
	return s.appendGsmtpID(b)
}

// Gmail's multi-line replies keep their line breaks, as the application
// stored them.
func (s *source) appendGmailUnknown(b []byte) []byte {
	b = append(b, "550-5.1.1 The email account that you tried to reach does not exist. Please try\n"+
		"550-5.1.1 double-checking the recipient's email address for typos or\n"+
		"550-5.1.1 unnecessary spaces. For more information, go to\n"+
		"550 5.1.1  https://support.google.com/mail/?p=NoSuchUser "...)
	return s.appendGsmtpID(b)
}

func (s *source) appendGmailOverQuota(b []byte) []byte {
	b = append(b, "452-4.2.2 The recipient's inbox is out of storage space. Please direct the\n"+
		"452-4.2.2 recipient to\n"+
		"452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp "...)
	return s.appendGsmtpID(b)
}

func (s *source) appendYahooUnknown(b []byte, email []byte, domain string) []byte {
	b = append(b, "554 delivery error: dd This user doesn't have a "...)
	b = append(b, domain...)
	b = append(b, " account ("...)
	b = append(b, email...)
	b = append(b, ") [0] - mta"...)
	b = strconv.AppendInt(b, s.between(1000, 5000), 10)
	b = append(b, ".mail."...)
	b = append(b, s.item(yahooSites)...)
	return append(b, ".yahoo.com"...)
}

func (s *source) appendPostfixQueued(b []byte) []byte {
	b = append(b, "250 2.0.0 Ok: queued as "...)
	b = append(b, digits[s.between(1, 10)])
	return s.appendRand(b, alnum, 14)
}

func (s *source) appendICloudQueued(b []byte) []byte {
	b = append(b, "250 2.0.0 Ok: queued as "...)
	return s.appendRand(b, hexUpper, 11)
}

func (s *source) appendOneAndOneQueued(b []byte) []byte {
	b = append(b, "250 Requested mail action okay, completed: id="...)
	b = append(b, digits[s.intn(2)])
	b = s.appendRand(b, alnum, 5)
	b = append(b, "-1"...)
	b = s.appendRand(b, alnum, 9)
	b = append(b, "-00"...)
	return s.appendRand(b, alnum, 4)
}

// appendDelivered appends the 250 reply of the recipient's server.
func (s *source) appendDelivered(b []byte, mb mailbox, xMessageID []byte, stream uint8, t int64) []byte {
	switch mb {
	case mbOutlookCom:
		return s.appendOutlookDelivered(b, xMessageID, stream)
	case mbGmail:
		return s.appendGmailDelivered(b, t)
	case mbYahoo:
		return append(b, "250 ok dirdel"...)
	case mbICloud:
		return s.appendICloudQueued(b)
	case mbOneAndOne:
		return s.appendOneAndOneQueued(b)
	case mbExchangeOnline:
		return s.appendQueued(b, xMessageID, stream)
	}
	return s.appendPostfixQueued(b)
}

// appendUnknownUser appends the recipient server's "no such mailbox" reply.
func (s *source) appendUnknownUser(b []byte, mb mailbox, email []byte, domain string, t int64) []byte {
	switch mb {
	case mbOutlookCom:
		return s.appendOutlookUnknown(b, t)
	case mbGmail:
		return s.appendGmailUnknown(b)
	case mbYahoo:
		return s.appendYahooUnknown(b, email, domain)
	case mbICloud:
		return append(append(append(b, "550 5.1.1 <"...), email...), ">: user does not exist"...)
	case mbOneAndOne:
		return append(b, "550 Requested action not taken: mailbox unavailable"...)
	case mbExchangeOnline:
		b = append(b, "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient "...)
		b = append(b, email...)
		return append(b, " not found by SMTP address lookup"...)
	}
	b = append(append(append(b, "550 5.1.1 <"...), email...), ">: Recipient address rejected: User unknown in virtual mailbox table"...)
	return b
}

func appendGreylisted(b []byte, email []byte, domain string) []byte {
	b = append(append(append(b, "450 4.2.0 <"...), email...), ">: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/"...)
	return append(append(b, domain...), ".html"...)
}

// appendESPMessageID appends a SendGrid-style sg_message_id: the 22-character
// X-Message-Id, the intake pod, and the intake time in hex.
func (s *source) appendESPMessageID(b []byte, t int64) []byte {
	b = s.appendRand(b, alnum, 22)
	b = append(b, ".filterdrecv-"...)
	b = append(b, s.item(filterPods)...)
	b = append(b, '-')
	b = strconv.AppendInt(b, s.between(1, 40), 10)
	b = append(b, '-')
	sec := uint64(t / usSecond)
	for i := 7; i >= 0; i-- {
		b = append(b, hexUpper[sec>>(4*uint(i))&0xf])
	}
	b = append(b, '-')
	b = strconv.AppendInt(b, s.between(1, 300), 10)
	return append(b, ".0"...)
}
