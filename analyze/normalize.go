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
	var b strings.Builder
	b.Grow(len(r.Text) + 32)
	if r.Code != 0 {
		b.WriteString(strconv.Itoa(r.Code))
	}
	if r.Enhanced != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.Enhanced)
	}
	normalizeText(&b, r.Text)
	if r.Stage != "" {
		b.WriteString(" (in reply to ")
		writeLower(&b, r.Stage)
		b.WriteByte(')')
	}
	return b.String()
}

// normalizeText appends the normalized tokens of t to b, each preceded by a
// space when b is not empty.
func normalizeText(b *strings.Builder, t string) {
	var toks [64]string
	fields := splitFields(t, toks[:0])
	for i, f := range fields {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		// Gmail ends each reply with a per-session id: "<id> - gsmtp".
		if i+2 < len(fields) && fields[i+1] == "-" && (fields[i+2] == "gsmtp" || fields[i+2] == "gcdp") && strings.ContainsAny(f, "0123456789") {
			b.WriteString(phID)
			continue
		}
		normalizeToken(b, f)
	}
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

// normalizeToken appends the normalized form of one whitespace-free token.
func normalizeToken(b *strings.Builder, tok string) {
	lead := 0
	for lead < len(tok) && strings.IndexByte("<([{\"'", tok[lead]) >= 0 {
		lead++
	}
	trail := len(tok)
	for trail > lead && strings.IndexByte(">)]}\"',;:.!?", tok[trail-1]) >= 0 {
		trail--
	}
	core := tok[lead:trail]
	if lead > 0 && tok[lead-1] == '<' && trail < len(tok) && tok[trail] == '>' && isAddress(core) {
		// "<user@example.com>" becomes "<addr>", not "<<addr>>".
		writeLower(b, tok[:lead-1])
		b.WriteString(phAddr)
		writeLower(b, tok[trail+1:])
		return
	}
	writeLower(b, tok[:lead])
	switch {
	case core == "":
	case strings.IndexByte(core, '@') > 0 && strings.IndexByte(core, '/') < 0:
		normalizeAddrs(b, core)
	case isTimestamp(core):
		b.WriteString(phTime)
	case isMicrosoftServer(core):
		b.WriteString(phMSServer)
	case strings.Count(core, ":") >= 2 && isIP(core):
		b.WriteString(phIP)
	default:
		normalizeRuns(b, core, looksLikeHost(core))
	}
	writeLower(b, tok[trail:])
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
func normalizeAddrs(b *strings.Builder, core string) {
	for {
		at := strings.IndexByte(core, '@')
		if at < 0 {
			normalizeRuns(b, core, false)
			return
		}
		l := at
		for l > 0 && isAddrChar(core[l-1]) {
			l--
		}
		r := at + 1
		for r < len(core) && isAddrChar(core[r]) {
			r++
		}
		normalizeRuns(b, core[:l], false)
		b.WriteString(phAddr)
		core = core[r:]
	}
}

func isAddrChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '%' || c == '"' || c == '\''
}

// normalizeRuns lowercases core, replacing IPv4 addresses, long numbers and
// id-like runs of letters and digits. In host names, digits inside labels
// become "#" so that mta1082.mail.bf1.example.com and mta7.mail.bf2... agree.
func normalizeRuns(b *strings.Builder, core string, host bool) {
	for i := 0; i < len(core); {
		c := core[i]
		if !isAlnum(c) {
			b.WriteByte(lower(c))
			i++
			continue
		}
		if isDigit(c) && (i == 0 || core[i-1] != '.') {
			if n := ipv4Len(core, i); n > 0 {
				b.WriteString(phIP)
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
		case letters == 0 && digits >= 5:
			b.WriteString(phNum)
		case letters > 0 && digits > 0 && isMicrosoftSCode(strings.ToUpper(run)):
			writeLower(b, run)
		case letters > 0 && digits > 0 && len(run) >= 8 && isHex(run):
			b.WriteString(phHex)
		case letters > 0 && (len(run) >= 16 && digits >= 1 || len(run) >= 10 && digits >= 3):
			b.WriteString(phID)
		case host && digits > 0 && letters > 0:
			writeSquashedDigits(b, run)
		default:
			writeLower(b, run)
		}
		i = j
	}
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
		for k < len(s) && isDigit(s[k]) && k-j < 4 {
			k++
		}
		if k == j || k-j > 3 {
			return 0
		}
		if n, _ := strconv.Atoi(s[j:k]); n > 255 {
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
	ls := strings.ToLower(s)
	if !strings.HasSuffix(ls, ".prod.outlook.com") && !strings.HasSuffix(ls, ".prod.protection.outlook.com") {
		return false
	}
	dot := strings.IndexByte(ls, '.')
	for i := 0; i < dot; i++ {
		if isDigit(ls[i]) {
			return true
		}
	}
	return strings.HasPrefix(ls, "#.")
}

// looksLikeHost reports whether s is a dotted host name with letters.
func looksLikeHost(s string) bool {
	if strings.Count(s, ".") < 2 || strings.ContainsAny(s, "/=?&%") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if isAlnum(s[i]) && !isDigit(s[i]) {
			return true
		}
	}
	return false
}

func writeSquashedDigits(b *strings.Builder, run string) {
	prevDigit := false
	for i := 0; i < len(run); i++ {
		if isDigit(run[i]) {
			if !prevDigit {
				b.WriteByte('#')
			}
			prevDigit = true
			continue
		}
		prevDigit = false
		b.WriteByte(lower(run[i]))
	}
}

func writeLower(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		b.WriteByte(lower(s[i]))
	}
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
