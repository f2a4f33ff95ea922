package analyze

import (
	"strconv"
	"strings"
)

// Placeholders that NormalizeReply puts where replies vary per message.
const (
	phAddr     = "<addr>"
	phIP       = "<ip>"
	phTime     = "<time>"
	phNum      = "<n>"
	phHex      = "<hex>"
	phID       = "<id>"
	phMSServer = "<msserver>"
	phHost     = "<host>"
)

// NormalizeReply returns the grouping key of a reply: lowercase, whitespace
// collapsed, and the parts that vary per message (IP addresses, e-mail
// addresses, message and queue ids, timestamps, hashes, long numbers,
// Microsoft server names) replaced by placeholders, so that thousands of
// variants of one reply share one key. Provider rule identifiers (S775,
// TSS04, AS843) are kept: they carry meaning.
func NormalizeReply(s string) string {
	r := ParseReply(s)
	return r.Key()
}

// Key is the normalized grouping key of a parsed reply; see NormalizeReply.
func (r Reply) Key() string {
	return string(r.AppendKey(make([]byte, 0, len(r.Text)+40)))
}

// AppendKey appends the grouping key to dst, so callers can look it up
// without allocating.
func (r Reply) AppendKey(dst []byte) []byte {
	if r.Code != 0 {
		dst = strconv.AppendInt(dst, int64(r.Code), 10)
	}
	if r.Enhanced != "" {
		if len(dst) > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, r.Enhanced...)
	}
	dst = normalizeText(dst, r.Text)
	if r.Stage != "" {
		dst = append(dst, " (in reply to "...)
		dst = appendLower(dst, r.Stage)
		dst = append(dst, ')')
	}
	return dst
}

// normalizeText appends the normalized tokens of t to dst, separated by
// single spaces.
func normalizeText(dst []byte, t string) []byte {
	var toks [64]string
	fields := splitFields(t, toks[:0])
	for i, f := range fields {
		if len(dst) > 0 {
			dst = append(dst, ' ')
		}
		// Gmail ends each reply with a per-session id: "<id> - gsmtp".
		if i+2 < len(fields) && fields[i+1] == "-" && (fields[i+2] == "gsmtp" || fields[i+2] == "gcdp") && strings.ContainsAny(f, "0123456789") {
			dst = append(dst, phID...)
			continue
		}
		dst = normalizeToken(dst, f)
	}
	return dst
}

// splitFields splits on ASCII whitespace without allocating for short texts.
func splitFields(s string, dst []string) []string {
	start := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' {
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

func isLeadPunct(c byte) bool {
	return c == '<' || c == '(' || c == '[' || c == '{' || c == '"' || c == '\''
}

func isTrailPunct(c byte) bool {
	switch c {
	case '>', ')', ']', '}', '"', '\'', ',', ';', ':', '.', '!', '?':
		return true
	}
	return false
}

// normalizeToken appends the normalized form of one whitespace-free token.
// One pass gathers what the token contains, so most tokens (plain words)
// cost a single scan.
func normalizeToken(dst []byte, tok string) []byte {
	lead := 0
	for lead < len(tok) && isLeadPunct(tok[lead]) {
		lead++
	}
	trail := len(tok)
	for trail > lead && isTrailPunct(tok[trail-1]) {
		trail--
	}
	core := tok[lead:trail]
	var at, slash, colons, dots, brackets, query, digits, other int
	letters := false
	for i := 0; i < len(core); i++ {
		switch c := core[i]; {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters = true
		case c >= '0' && c <= '9':
			digits++
		case c == '@':
			at++
		case c == '/':
			slash++
		case c == ':':
			colons++
		case c == '.':
			dots++
		case c == '[':
			brackets++
		case c == '=' || c == '?' || c == '&' || c == '%':
			query++
		default:
			other++
		}
	}
	if digits == 0 && at == 0 && colons == 0 && brackets == 0 && dots < 2 {
		// A word: nothing in it can vary per message.
		return appendLower(dst, tok)
	}
	if at == 1 && slash == 0 && lead > 0 && tok[lead-1] == '<' && trail < len(tok) && tok[trail] == '>' && isAddress(core) {
		// "<user@example.com>" becomes "<addr>", not "<<addr>>".
		dst = appendLower(dst, tok[:lead-1])
		dst = append(dst, phAddr...)
		return appendLower(dst, tok[trail+1:])
	}
	dst = appendLower(dst, tok[:lead])
	switch {
	case core == "":
	case at > 0 && slash == 0:
		dst = normalizeAddrs(dst, core)
	case colons > 0 && isDigit(core[0]) && isTimestamp(core):
		dst = append(dst, phTime...)
	case dots >= 3 && letters && isMicrosoftServer(core):
		dst = append(dst, phMSServer...)
	case colons >= 2 && isIP(core):
		dst = append(dst, phIP...)
	case brackets > 0 && dots > 0 && hostWithAddress(core) > 0:
		// "mx.example.org[192.0.2.1]:25": one of many destination hosts.
		k := hostWithAddress(core)
		dst = append(dst, phHost...)
		dst = normalizeRuns(dst, core[k:], false)
	case isDigit(core[0]) && !letters && colons == 0 && isTimestamp(core):
		dst = append(dst, phTime...)
	default:
		dst = normalizeRuns(dst, core, dots >= 2 && letters && slash == 0 && query == 0)
	}
	return appendLower(dst, tok[trail:])
}

// isAddress reports whether s is one e-mail address and nothing else.
func isAddress(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 0 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != at && !isAddrChar(s[i]) {
			return false
		}
	}
	return true
}

// normalizeAddrs replaces each e-mail address inside core.
func normalizeAddrs(dst []byte, core string) []byte {
	for {
		at := strings.IndexByte(core, '@')
		if at < 0 {
			return normalizeRuns(dst, core, false)
		}
		l := at
		for l > 0 && isAddrChar(core[l-1]) {
			l--
		}
		r := at + 1
		for r < len(core) && isAddrChar(core[r]) {
			r++
		}
		dst = normalizeRuns(dst, core[:l], false)
		dst = append(dst, phAddr...)
		core = core[r:]
	}
}

func isAddrChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '%' || c == '"' || c == '\''
}

// normalizeRuns lowercases core, replacing IPv4 addresses, long numbers and
// id-like runs of letters and digits. In host names, labels with digits
// become "#": they number machines and data centres, so that
// mta1082.mail.bf1.example.com and mta7.mail.gq1.example.com agree.
func normalizeRuns(dst []byte, core string, host bool) []byte {
	for i := 0; i < len(core); {
		c := core[i]
		if !isAlnum(c) {
			dst = append(dst, lower(c))
			i++
			continue
		}
		if isDigit(c) && (i == 0 || core[i-1] != '.') {
			if n := ipv4Len(core, i); n > 0 {
				dst = append(dst, phIP...)
				i += n
				continue
			}
		}
		j := i
		digits, letters := 0, 0
		for j < len(core) && isAlnum(core[j]) {
			if isDigit(core[j]) {
				digits++
			} else {
				letters++
			}
			j++
		}
		run := core[i:j]
		switch {
		case digits == 0 || letters == 0 && digits < 5:
			dst = appendLower(dst, run)
		case letters == 0 && digits >= 8:
			// Long numbers and hex ids share a placeholder: a queue id may
			// happen to have no letters.
			dst = append(dst, phHex...)
		case letters == 0:
			dst = append(dst, phNum...)
		case isMicrosoftSCodeFold(run):
			dst = appendLower(dst, run)
		case len(run) >= 8 && isHex(run):
			dst = append(dst, phHex...)
		case len(run) >= 16 || len(run) >= 10 && digits >= 3:
			dst = append(dst, phID...)
		case host:
			dst = append(dst, '#')
		default:
			dst = appendLower(dst, run)
		}
		i = j
	}
	return dst
}

// isMicrosoftSCodeFold is isMicrosoftSCode for either case: "s775", "AS843".
func isMicrosoftSCodeFold(s string) bool {
	if len(s) >= 4 && (s[0] == 'a' || s[0] == 'A') && (s[1] == 's' || s[1] == 'S') {
		return allDigits(s[2:])
	}
	return len(s) >= 4 && (s[0] == 's' || s[0] == 'S') && allDigits(s[1:])
}

// ipv4Len returns the length of a dotted IPv4 address starting at s[i], or 0.
func ipv4Len(s string, i int) int {
	j := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= len(s) || s[j] != '.' {
				return 0
			}
			j++
		}
		k := j
		n := 0
		for k < len(s) && isDigit(s[k]) && k-j < 4 {
			n = n*10 + int(s[k]-'0')
			k++
		}
		if k == j || k-j > 3 || n > 255 {
			return 0
		}
		j = k
	}
	if j < len(s) && (isAlnum(s[j]) || s[j] == '.' && j+1 < len(s) && isDigit(s[j+1])) {
		return 0
	}
	return j - i
}

// isTimestamp matches 2023-10-28T12:19:31.847Z, 2023-10-28 and 12:19:31.
func isTimestamp(s string) bool {
	if len(s) >= 10 && isDigit(s[0]) && isDigit(s[3]) && s[4] == '-' && s[7] == '-' && isDigit(s[9]) {
		return true
	}
	return len(s) >= 8 && isDigit(s[0]) && isDigit(s[1]) && s[2] == ':' && isDigit(s[3]) && s[5] == ':' && isDigit(s[7])
}

// isMicrosoftServer matches Exchange Online host names such as
// TYCP286MB3363.JPNP286.PROD.OUTLOOK.COM or BL2NAM02FT061.eop-nam02.prod.protection.outlook.com,
// which name one of thousands of front-end servers.
func isMicrosoftServer(s string) bool {
	if len(s) < 20 || !hasSuffixFold(s, ".outlook.com") ||
		!hasSuffixFold(s, ".prod.outlook.com") && !hasSuffixFold(s, ".prod.protection.outlook.com") {
		return false
	}
	dot := strings.IndexByte(s, '.')
	for i := 0; i < dot; i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return strings.HasPrefix(s, "#.")
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// hostWithAddress returns the index of '[' in "host.name[ip]...", or 0 when
// core is not a host name followed by a bracketed IP address.
func hostWithAddress(core string) int {
	k := strings.IndexByte(core, '[')
	if k <= 0 || strings.IndexByte(core[:k], '.') < 0 {
		return 0
	}
	for i := 0; i < k; i++ {
		if c := core[i]; !isAlnum(c) && c != '.' && c != '-' && c != '_' {
			return 0
		}
	}
	end := strings.IndexByte(core[k:], ']')
	if end < 0 || !isIP(core[k+1:k+end]) {
		return 0
	}
	return k
}

func appendLower(dst []byte, s string) []byte {
	n := len(dst)
	dst = append(dst, s...)
	for i := n; i < len(dst); i++ {
		if c := dst[i]; c >= 'A' && c <= 'Z' {
			dst[i] = c + 'a' - 'A'
		}
	}
	return dst
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
