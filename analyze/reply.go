package analyze

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxReplyLen bounds the work done on one reply. Real replies, even
// multi-line ones with Microsoft trailers, stay under 2 KiB; anything longer
// is a log line gone wrong, and the first 8 KiB carry all the meaning.
const MaxReplyLen = 8192

// Reply is one SMTP reply taken apart: the reply code, the RFC 3463 enhanced
// status code, the human text, and the provider identifiers embedded in it.
type Reply struct {
	// Code is the three-digit basic reply code (RFC 5321), 0 when none.
	Code int `json:"code"`
	// Enhanced is the RFC 3463 class.subject.detail code, "" when none.
	Enhanced string `json:"enhanced_code"`
	// Text is the reply text with codes, continuation markers, log prefixes
	// and the "(in reply to ...)" trailer removed.
	Text string `json:"text"`
	// Stage is the SMTP stage the reply answered ("RCPT TO", "end of DATA",
	// "CONNECT" for a refused greeting), when the log says so.
	Stage string `json:"stage,omitempty"`
	// Host and HostIP name the remote server quoted by the MTA log
	// ("host mx.example.com[192.0.2.1] said:").
	Host   string `json:"host,omitempty"`
	HostIP string `json:"host_ip,omitempty"`
	// ProviderCodes are the provider's own rule identifiers found in the text:
	// Microsoft S775/AS843/RP-001, Yahoo TSS04, Apple CS01, Orange OFR_999,
	// Comcast BL000000, Gmail help topics (p=UnsolicitedRateLimitError).
	ProviderCodes []string `json:"provider_codes,omitempty"`
	// SendingIP is the sender address the receiver quoted ("[203.0.113.7]").
	SendingIP string `json:"sending_ip,omitempty"`
	// Server, ServerTime and CorrelationID come from Microsoft's trailer
	// "[SERVER.prod.protection.outlook.com 2023-10-28T12:19:31.847Z 08DBD...]".
	Server        string `json:"server,omitempty"`
	ServerTime    string `json:"server_time,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	// Suffix is Google's source marker: "gsmtp", or "gcdp" for a rule the
	// recipient's administrator wrote.
	Suffix string `json:"suffix,omitempty"`
	// Agent, AgentCode and MxID come from Microsoft's
	// "[Name=Protocol Filter Agent][AGT=PFA][MxId=...]" annotation.
	Agent     string `json:"agent,omitempty"`
	AgentCode string `json:"agent_code,omitempty"`
	MxID      string `json:"mx_id,omitempty"`

	// class is the class digit ('2', '4' or '5') of the first reply or
	// enhanced code in the text, 0 when the text carries none.
	class byte
}

// Temporary reports whether the reply is a transient failure, and whether the
// reply itself says so (known is false when it carries no 2xx/4xx/5xx code).
func (r Reply) Temporary() (temporary, known bool) {
	switch r.class {
	case '4':
		return true, true
	case '2', '5':
		return false, true
	}
	return false, false
}

// ParseReply takes one SMTP reply as it appears in logs, DSNs or webhook
// payloads apart. It never fails: text it cannot read ends up in Text.
func ParseReply(s string) Reply {
	var r Reply
	if len(s) > MaxReplyLen {
		s = s[:MaxReplyLen]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.TrimSpace(s)
	s = stripDiagnosticType(s)
	s = r.stripRemoteHost(s)
	s = r.stripInReplyTo(s)
	s = strings.TrimSpace(s)
	s = unwrapQuotedReply(s)
	if r.Host == "" {
		r.Host, r.HostIP = connectHost(s)
	}
	r.class = firstClass(s)
	s = skipGreeting(s)

	rest := s
	if c, n := leadingCode(rest); c != 0 {
		r.Code = c
		rest = strings.TrimLeft(rest[n:], " -:\t")
	}
	if e, n := leadingEnhanced(rest); e != "" {
		r.Enhanced = e
		rest = strings.TrimLeft(rest[n:], " -:\t")
	}
	rest = joinContinuations(rest, r.Code, r.Enhanced)
	if r.Code == 0 {
		r.Code = findCode(rest)
	}
	if r.Enhanced == "" {
		r.Enhanced = findEnhanced(rest)
	}
	r.Text = rest
	r.extractIdentifiers()
	return r
}

// unwrapQuotedReply extracts the remote reply from Amazon SES's diagnostic
// form "5.1.0 - Unknown address error 550-'5.7.1 <a>... Access denied'
// (delivery attempts: 0)": SES's own status and category come first, the
// receiver's words are the quoted part.
func unwrapQuotedReply(s string) string {
	if !strings.HasSuffix(s, ")") || !strings.Contains(s, "(delivery attempts:") {
		return s
	}
	q := strings.Index(s, "-'")
	end := strings.LastIndex(s, "' (delivery attempts:")
	if q < 3 || end <= q || codeAt(s, q-3) == 0 {
		return s
	}
	return s[q-3:q] + " " + s[q+2:end]
}

// skipGreeting drops a 2xx greeting glued before the real reply, as in
// "220-laposte 421 4.2.1 Service refuse ...".
func skipGreeting(s string) string {
	if len(s) < 4 || s[0] != '2' || codeAt(s, 0) == 0 {
		return s
	}
	for i := 4; i+3 <= len(s); i++ {
		if (s[i] == '4' || s[i] == '5') && s[i-1] == ' ' && codeAt(s, i) != 0 {
			return s[i:]
		}
	}
	return s
}

// stripDiagnosticType removes a DSN diagnostic type ("smtp;", "SMTP; ",
// "X-Postfix; ") from the start of s.
func stripDiagnosticType(s string) string {
	i := strings.IndexByte(s, ';')
	if i <= 0 || i > 16 {
		return s
	}
	for j := 0; j < i; j++ {
		c := s[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c >= '0' && c <= '9' && j > 0) {
			return s
		}
	}
	switch strings.ToLower(s[:i]) {
	case "smtp", "x-postfix", "x-unix", "x-local", "x-exim", "esmtp", "x-smtp", "x-notes", "x-qmail":
		return strings.TrimSpace(s[i+1:])
	}
	return s
}

// stripRemoteHost removes the MTA's own words around the remote reply:
// Postfix "host X[ip] said:" and "host X[ip] refused to talk to me:", Exim
// "SMTP error from remote mail server after RCPT TO:<a>:".
func (r *Reply) stripRemoteHost(s string) string {
	if strings.IndexByte(s, ':') < 0 {
		return s
	}
	if i := indexBeforeColon(s, " said"); i > 0 {
		if h := strings.LastIndex(s[:i], "host "); h >= 0 && !strings.Contains(s[h+5:i], " ") {
			r.Host, r.HostIP = splitHostIP(s[h+5 : i])
			return strings.TrimSpace(s[i+len(" said:"):])
		}
	}
	if i := indexBeforeColon(s, " refused to talk to me"); i > 0 {
		if h := strings.LastIndex(s[:i], " "); h >= 0 {
			r.Host, r.HostIP = splitHostIP(s[h+1 : i])
		}
		r.Stage = "CONNECT"
		return strings.TrimSpace(s[i+len(" refused to talk to me:"):])
	}
	const exim = "SMTP error from remote mail server after "
	if i := strings.Index(s, exim); i >= 0 {
		after := s[i+len(exim):]
		if j := strings.Index(after, ": "); j > 0 {
			stage := after[:j]
			if k := strings.IndexByte(stage, ':'); k > 0 {
				stage = stage[:k]
			}
			if strings.EqualFold(stage, "initial connection") {
				stage = "CONNECT"
			}
			r.Stage = stage
			if h := strings.Index(s[:i], "host "); h >= 0 {
				r.Host, r.HostIP = splitHostIP(strings.TrimSpace(s[h+5 : i]))
			}
			return strings.TrimSpace(after[j+2:])
		}
	}
	return s
}

// indexBeforeColon returns the index of word where it is directly followed
// by a colon, or -1. Scanning colons is much cheaper than searching for a
// word that starts with a space.
func indexBeforeColon(s, word string) int {
	for off := 0; ; {
		c := strings.IndexByte(s[off:], ':')
		if c < 0 {
			return -1
		}
		c += off
		if c >= len(word) && s[c-len(word):c] == word {
			return c - len(word)
		}
		off = c + 1
	}
}

// connectHost reads the destination of Postfix's "connect to host[ip]:25:"
// and "lost connection with host[ip]" texts, so the provider can be told
// from the host name even though the grouping key drops it.
func connectHost(s string) (host, ip string) {
	for _, marker := range []string{"connect to ", "connection with "} {
		i := strings.Index(s, marker)
		if i < 0 {
			continue
		}
		w := s[i+len(marker):]
		if j := strings.IndexByte(w, ' '); j > 0 {
			w = w[:j]
		}
		if strings.IndexByte(w, '[') > 0 {
			return splitHostIP(w[:strings.IndexByte(w, ']')+1])
		}
	}
	return "", ""
}

// splitHostIP splits "mx.example.com[192.0.2.1]" or "mx.example.com [192.0.2.1]".
func splitHostIP(s string) (host, ip string) {
	s = strings.TrimRight(s, ":")
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return strings.TrimSpace(s[:i]), s[i+1 : i+j]
		}
	}
	return s, ""
}

// stripInReplyTo removes Postfix's "(in reply to RCPT TO command)" trailer and
// records the stage.
func (r *Reply) stripInReplyTo(s string) string {
	const marker = "(in reply to "
	i := len(s)
	for {
		i = strings.LastIndexByte(s[:i], '(')
		if i < 0 {
			return s
		}
		if strings.HasPrefix(s[i:], marker) {
			break
		}
	}
	tail := s[i+len("(in reply to "):]
	j := strings.IndexByte(tail, ')')
	if j < 0 {
		return s
	}
	stage := strings.TrimSuffix(tail[:j], " command")
	if r.Stage == "" {
		r.Stage = stage
	}
	return strings.TrimSpace(s[:i] + tail[j+1:])
}

// leadingCode reads a reply code at the start of s ("550 ", "421-", "550:").
func leadingCode(s string) (code, n int) {
	if len(s) < 3 || !isCodeStart(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) {
		return 0, 0
	}
	if len(s) > 3 && s[3] != ' ' && s[3] != '-' && s[3] != ':' && s[3] != '\t' {
		return 0, 0
	}
	c, _ := strconv.Atoi(s[:3])
	return c, 3
}

// leadingEnhanced reads an enhanced status code at the start of s, allowing
// qmail's "#5.1.1" form.
func leadingEnhanced(s string) (string, int) {
	off := 0
	if strings.HasPrefix(s, "#") {
		off = 1
	}
	e, n := scanEnhanced(s, off)
	if e == "" {
		return "", 0
	}
	return e, off + n
}

// scanEnhanced validates an RFC 3463 code starting at s[i]: class 2, 4 or 5,
// a subject 0-7 (the defined subjects) and a detail of 1-3 digits, not glued
// to further digits or dots (so Yahoo's "4.16.55.1" is not one).
func scanEnhanced(s string, i int) (string, int) {
	if i+5 > len(s) || !isCodeStart(s[i]) || s[i+1] != '.' {
		return "", 0
	}
	j := i + 2
	k := j
	for k < len(s) && isDigit(s[k]) && k-j < 4 {
		k++
	}
	if k-j != 1 || s[j] > '7' {
		// Defined subjects are single digits 0-7.
		return "", 0
	}
	if k >= len(s) || s[k] != '.' {
		return "", 0
	}
	d := k + 1
	e := d
	for e < len(s) && isDigit(s[e]) {
		e++
	}
	if e == d || e-d > 3 {
		return "", 0
	}
	if e < len(s) && (s[e] == '.' && e+1 < len(s) && isDigit(s[e+1]) || isAlnum(s[e])) {
		return "", 0
	}
	return s[i:e], e - i
}

// findEnhanced finds the first valid enhanced code anywhere in s.
func findEnhanced(s string) string {
	for i := 0; i+5 <= len(s); i++ {
		if !isCodeStart(s[i]) || s[i+1] != '.' {
			continue
		}
		if i > 0 && (isAlnum(s[i-1]) || s[i-1] == '.') {
			continue
		}
		if e, _ := scanEnhanced(s, i); e != "" {
			return e
		}
	}
	return ""
}

// findCode finds the first standalone reply code in s, as in "ERROR_CODE :550"
// or "... refused: 421 Service not available".
func findCode(s string) int {
	for i := 0; i+3 <= len(s); i++ {
		if c := codeAt(s, i); c != 0 {
			return c
		}
	}
	return 0
}

// codeAt reports the reply code at s[i] when it stands alone: not part of a
// longer number, a word, an IP address, a version or a port (":25:").
func codeAt(s string, i int) int {
	if !isCodeStart(s[i]) || !isDigit(s[i+1]) || !isDigit(s[i+2]) {
		return 0
	}
	if i > 0 {
		p := s[i-1]
		if isAlnum(p) || p == '.' || p == '_' || p == '#' || p == '%' || p == '=' || p == '/' {
			return 0
		}
		if p == ':' && i > 1 && (s[i-2] == ']' || isDigit(s[i-2])) {
			return 0
		}
	}
	if i+3 < len(s) {
		n := s[i+3]
		if isAlnum(n) || n == '.' || n == '_' || n == ']' || n == '@' || n == ':' && i+4 < len(s) && isDigit(s[i+4]) {
			return 0
		}
	}
	c, _ := strconv.Atoi(s[i : i+3])
	return c
}

// firstClass returns the class digit of the first reply or enhanced code in
// s: the RFC says the first digit decides, so "554 4.4.7 expired" is permanent.
func firstClass(s string) byte {
	var class byte
	for i := 0; i+3 <= len(s); i++ {
		if !isCodeStart(s[i]) {
			continue
		}
		found := codeAt(s, i) != 0
		if !found && s[i+1] == '.' && (i == 0 || !isAlnum(s[i-1]) && s[i-1] != '.') {
			e, _ := scanEnhanced(s, i)
			found = e != ""
		}
		if !found {
			continue
		}
		if s[i] != '2' {
			return s[i]
		}
		// A 2xx greeting before the real reply ("220-laposte 421 ...") does
		// not decide; only a text with nothing but 2xx codes is a success.
		class = '2'
	}
	return class
}

// joinContinuations removes the repeated "550-5.7.1" / "550 5.7.1" markers of
// a multi-line reply that a log flattened onto one line, and joins real lines.
func joinContinuations(s string, code int, enh string) string {
	if strings.ContainsAny(s, "\r\n\t") {
		s = strings.Join(strings.Fields(s), " ")
	}
	if code == 0 {
		return s
	}
	cs := strconv.Itoa(code)
	if !repeatsCode(s, cs) {
		return s
	}
	out := make([]byte, 0, len(s))
	continued := false
	for i := 0; ; {
		fs, fe := nextField(s, i)
		if fs < 0 {
			break
		}
		i = fe
		f := s[fs:fe]
		if len(f) >= 3 && f[:3] == cs && (len(f) == 3 || f[3] == '-') {
			rest := ""
			if len(f) > 4 {
				rest = f[4:]
			}
			switch {
			case len(f) > 3:
				// "550-", "550-5.7.26" or "550-Reason:": a continuation marker.
				continued = true
				if rest == "" || rest == enh {
					continue
				}
				f = rest
			case enh != "":
				// "550 5.1.1" repeated inside the text.
				if ns, ne := nextField(s, i); ns >= 0 && s[ns:ne] == enh {
					i = ne
					continue
				}
				if continued {
					continue
				}
			case continued:
				continue
			}
		}
		if len(out) > 0 {
			out = append(out, ' ')
		}
		out = append(out, f...)
	}
	return string(out)
}

// nextField returns the bounds of the next space-separated field at or after
// s[i], or -1, -1.
func nextField(s string, i int) (start, end int) {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i >= len(s) {
		return -1, -1
	}
	j := i
	for j < len(s) && s[j] != ' ' {
		j++
	}
	return i, j
}

// repeatsCode reports whether the reply code cs appears again as a word in s,
// without allocating: single-line replies, the common case, never do.
func repeatsCode(s, cs string) bool {
	for i := 0; i+3 <= len(s); i++ {
		if s[i] == cs[0] && s[i+1] == cs[1] && s[i+2] == cs[2] && (i == 0 || s[i-1] == ' ') &&
			(i+3 == len(s) || s[i+3] == ' ' || s[i+3] == '-') {
			return true
		}
	}
	return false
}

// extractIdentifiers fills the provider identifiers, the quoted sending IP and
// the Microsoft trailer from r.Text with plain scanning: this runs for every
// stored reply, so it avoids regular expressions.
func (r *Reply) extractIdentifiers() {
	t := r.Text
	for i := 0; i < len(t); i++ {
		c := t[i]
		wordStart := i == 0 || !isAlnum(t[i-1]) && t[i-1] != '_'
		switch {
		case c == '(':
			// Microsoft "(S775)", "(AS843)", "(S77714)".
			if j := strings.IndexByte(t[i:min(len(t), i+16)], ')'); j > 2 {
				if id := t[i+1 : i+j]; isMicrosoftSCode(id) {
					r.addCode(id)
				}
			}
		case c == '[':
			j := strings.IndexByte(t[i:min(len(t), i+96)], ']')
			if j < 2 {
				continue
			}
			in := t[i+1 : i+j]
			switch {
			case isBracketCode(in):
				r.addCode(in)
			case strings.HasPrefix(in, "Name="):
				r.Agent = in[len("Name="):]
			case strings.HasPrefix(in, "AGT="):
				r.AgentCode = in[len("AGT="):]
			case strings.HasPrefix(in, "MxId="):
				r.MxID = in[len("MxId="):]
			case r.SendingIP == "" && isIP(in) && (i == 0 || !isAlnum(t[i-1]) && t[i-1] != '.' && t[i-1] != '-'):
				// "host.example[192.0.2.1]" names a host's address; the sender
				// is quoted on its own: "The mail server [203.0.113.7]".
				r.SendingIP = in
			case r.Server == "" && strings.Contains(in, ".outlook.com"):
				r.parseMicrosoftTrailer(in)
			}
		case wordStart && isUpper(c):
			if r.SendingIP == "" && (c == 'M' || c == 'I') {
				r.SendingIP = ipAfterMarker(t[i:])
			}
			w := wordAt(t, i)
			r.wordCode(t, i, w)
			i += len(w) - 1
		case wordStart && (c == 'm' || c == 'I' || c == 'i') && r.SendingIP == "":
			r.SendingIP = ipAfterMarker(t[i:])
		}
	}
	if strings.HasSuffix(t, "gsmtp") {
		r.Suffix = "gsmtp"
	}
	if strings.Contains(t, "gcdp") && (strings.Contains(t, " gcdp ") || strings.Contains(t, "- gcdp")) {
		r.Suffix = "gcdp"
	}
	r.scanURLCodes(t)
}

// wordCode records the provider identifier, if any, that the word w starting
// at t[i] is: Microsoft AS843, AS(1234), RP-001/SC-004/DY-001/OU-002 and
// PR(ct1); Orange/La Poste OFR_999, OFR004_104, LPN007_416; Comcast
// BL000000, RL000001; 1&1/GoDaddy IB506.
func (r *Reply) wordCode(t string, i int, w string) {
	switch {
	case w == "AS" && strings.HasPrefix(t[i:], "AS("):
		if j := strings.IndexByte(t[i:min(len(t), i+16)], ')'); j > 3 && allDigits(t[i+3:i+j]) {
			r.addCode("AS" + t[i+3:i+j])
		}
	case len(w) > 4 && strings.HasPrefix(w, "AS") && allDigits(w[2:]):
		r.addCode(w)
	case len(w) == 2 && i+6 <= len(t) && t[i+2] == '-' && allDigits(t[i+3:i+6]) && (i+6 == len(t) || !isAlnum(t[i+6])):
		switch w {
		case "RP", "SC", "DY", "OU":
			r.addCode(t[i : i+6])
		}
	case w == "PR" && strings.HasPrefix(t[i:], "PR(ct"):
		if j := strings.IndexByte(t[i:min(len(t), i+10)], ')'); j > 0 {
			r.addCode(t[i : i+j+1])
		}
	case len(w) < 5:
	case (strings.HasPrefix(w, "OFR") || strings.HasPrefix(w, "LPN")) && strings.Contains(w, "_"):
		r.addCode(w)
	case len(w) == 8 && isUpper(w[1]) && allDigits(w[2:]):
		r.addCode(w)
	case len(w) == 5 && strings.HasPrefix(w, "IB") && allDigits(w[2:]):
		r.addCode(w)
	}
}

// ipAfterMarker reads the sender IP in texts that name it without brackets:
// "Messages from 203.0.113.7 temporarily deferred", "IP=192.0.2.1".
func ipAfterMarker(t string) string {
	var rest string
	switch {
	case strings.HasPrefix(t, "messages from "), strings.HasPrefix(t, "Messages from "):
		rest = t[len("messages from "):]
	case strings.HasPrefix(t, "mail from "):
		rest = t[len("mail from "):]
	case strings.HasPrefix(t, "IP="), strings.HasPrefix(t, "ip="):
		rest = t[len("ip="):]
	default:
		return ""
	}
	end := 0
	for end < len(rest) && end < 45 && (isDigit(rest[end]) || rest[end] == '.' || rest[end] == ':' || isHexLetter(rest[end])) {
		end++
	}
	if ip := strings.TrimRight(rest[:end], ".:"); isIP(ip) {
		return ip
	}
	return ""
}

// scanURLCodes records the topic of Gmail help links (?p=NoSuchUser) and the
// case code of GMX / WEB.DE postmaster links (?c=r0201), which name the rule.
func (r *Reply) scanURLCodes(t string) {
	for off := 0; ; {
		q := strings.IndexByte(t[off:], '?')
		if q < 0 {
			return
		}
		q += off
		off = q + 1
		if q+3 >= len(t) || t[q+2] != '=' {
			continue
		}
		start := strings.LastIndexByte(t[:q], ' ') + 1
		url := t[start:q]
		switch {
		case t[q+1] == 'p' && strings.HasSuffix(url, "support.google.com/mail/"):
			if w := wordAt(t, q+3); w != "" {
				r.addCode("p=" + w)
			}
		case t[q+1] == 'c' && (strings.Contains(url, "postmaster.gmx.") || strings.Contains(url, "postmaster.web.de")):
			if w := wordAt(t, q+3); w != "" {
				r.addCode("c=" + w)
			}
		}
	}
}

// scanWordCodes finds identifiers that stand as words: Orange/La Poste
// OFR_999, OFR004_104, LPN007_416; Comcast BL000000, RL000001; 1&1 IB506.
func (r *Reply) scanWordCodes(t string) {
	for i := 0; i < len(t); i++ {
		if i > 0 && (isAlnum(t[i-1]) || t[i-1] == '_') {
			continue
		}
		c := t[i]
		if c < 'A' || c > 'Z' {
			continue
		}
		w := wordAt(t, i)
		if len(w) < 5 {
			continue
		}
		switch {
		case (strings.HasPrefix(w, "OFR") || strings.HasPrefix(w, "LPN")) && strings.Contains(w, "_"):
			r.addCode(w)
		case len(w) == 8 && isUpper(w[0]) && isUpper(w[1]) && allDigits(w[2:]):
			r.addCode(w)
		case len(w) == 5 && strings.HasPrefix(w, "IB") && allDigits(w[2:]):
			r.addCode(w)
		}
		i += len(w)
	}
}

func (r *Reply) addCode(id string) {
	for _, c := range r.ProviderCodes {
		if c == id {
			return
		}
	}
	r.ProviderCodes = append(r.ProviderCodes, id)
}

// parseMicrosoftTrailer reads "SERVER 2023-10-28T12:19:31.847Z 08DBD70830F39917"
// or a bare "SERVER.eop-nam12.prod.protection.outlook.com".
func (r *Reply) parseMicrosoftTrailer(in string) {
	f := strings.Fields(in)
	if len(f) == 0 || !strings.HasSuffix(strings.ToLower(f[0]), ".outlook.com") {
		return
	}
	r.Server = f[0]
	if len(f) >= 2 && len(f[1]) >= 19 && f[1][4] == '-' && f[1][10] == 'T' {
		r.ServerTime = f[1]
	}
	if len(f) >= 3 && isHex(f[2]) {
		r.CorrelationID = f[2]
	}
}

// isMicrosoftSCode matches S775, S3150, AS843, AS16012609.
func isMicrosoftSCode(s string) bool {
	switch {
	case strings.HasPrefix(s, "AS"):
		return len(s) >= 4 && allDigits(s[2:])
	case strings.HasPrefix(s, "S"):
		return len(s) >= 4 && allDigits(s[1:])
	}
	return false
}

// isBracketCode matches bracketed provider codes: Yahoo [TSS04], [TS01],
// [PH01], Apple [CS01], Exim ACL [C14]; 1-5 capitals then 1-4 digits.
func isBracketCode(s string) bool {
	i := 0
	for i < len(s) && isUpper(s[i]) {
		i++
	}
	if i == 0 || i > 5 {
		return false
	}
	d := len(s) - i
	return d >= 1 && d <= 4 && allDigits(s[i:])
}

// isIP reports whether s is a dotted IPv4 address or an IPv6 address.
func isIP(s string) bool {
	if strings.IndexByte(s, ':') >= 0 {
		if strings.Count(s, ":") < 2 {
			return false
		}
		for i := 0; i < len(s); i++ {
			if !(isDigit(s[i]) || isHexLetter(s[i]) || s[i] == ':' || s[i] == '.') {
				return false
			}
		}
		return true
	}
	parts := 0
	n, digits := 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || n > 255 {
				return false
			}
			parts++
			n, digits = 0, 0
			continue
		}
		if !isDigit(s[i]) || digits == 3 {
			return false
		}
		n = n*10 + int(s[i]-'0')
		digits++
	}
	return parts == 4
}

// wordAt returns the run of letters, digits and underscores starting at s[i].
func wordAt(s string, i int) string {
	j := i
	for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
		j++
	}
	return s[i:j]
}

func isCodeStart(c byte) bool { return c == '2' || c == '4' || c == '5' }
func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isUpper(c byte) bool     { return c >= 'A' && c <= 'Z' }
func isHexLetter(c byte) bool { return c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !isHexLetter(s[i]) {
			return false
		}
	}
	return true
}
