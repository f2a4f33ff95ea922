package analyze

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// Rule is one row of reply knowledge: which replies it matches, what they
// mean, and what to do. Rules are data (analyze/data/reply_rules.tsv, or a
// user file with the same columns); every row carries its source and a real
// example reply that the tests classify.
type Rule struct {
	ID string `json:"rule_id"`
	// Provider restricts the rule to replies from one provider; "generic"
	// (or empty) applies it to any.
	Provider Provider `json:"provider"`
	// Code is a reply-code spec: "421", "4xx", "450-452", "550,554".
	Code string `json:"code,omitempty"`
	// Enhanced is an enhanced-code spec: "4.7.650", "4.7.500-699",
	// "5.7.*", "*.1.1" (class 4 or 5), lists separated by commas.
	Enhanced string `json:"enhanced,omitempty"`
	// Pattern is a case-insensitive RE2 expression matched against the
	// normalized reply (see NormalizeReply): lowercase, with <ip>, <addr>,
	// <n>, <id>, <hex>, <time> and <msserver> placeholders.
	Pattern string   `json:"pattern,omitempty"`
	Reason  Reason   `json:"reason"`
	Scope   Scope    `json:"scope"`
	Meaning string   `json:"meaning"`
	Action  string   `json:"action"`
	Links   []string `json:"links,omitempty"`
	Source  string   `json:"source"`
	Example string   `json:"example"`
	Note    string   `json:"note,omitempty"`

	anyProvider bool
	codes       []codeRange
	enhanced    []enhancedRange
	re          *regexp.Regexp
	branches    []branch
}

// branch is one top-level alternative of a pattern. Go's regexp engine is
// slow on long alternations, so each alternative is matched on its own, and
// only when the literals it needs occur in the reply; a pure literal needs no
// expression at all.
type branch struct {
	re      *regexp.Regexp
	literal bool     // the branch is exactly one literal text
	lits    []string // texts of which a match contains one; nil if unknown
}

// ruleColumns are the TSV columns, in the order the embedded file uses.
var ruleColumns = []string{"rule_id", "provider", "code", "enhanced", "pattern", "reason", "scope",
	"meaning", "action", "links", "source", "example", "note"}

// LoadRules reads rules from tab-separated text: a header line naming the
// columns (rule_id and reason are required; see ruleColumns), then one rule
// per line. Blank lines and lines starting with '#' are skipped.
func LoadRules(r io.Reader) ([]Rule, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var (
		cols  map[string]int
		rules []Rule
		seen  = map[string]int{}
		line  int
	)
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, f := range fields {
				cols[strings.ToLower(strings.TrimSpace(f))] = i
			}
			for _, req := range []string{"rule_id", "reason"} {
				if _, ok := cols[req]; !ok {
					return nil, fmt.Errorf("rules: line %d: header lacks the %q column (columns: %s)",
						line, req, strings.Join(ruleColumns, ", "))
				}
			}
			continue
		}
		get := func(name string) string {
			if i, ok := cols[name]; ok && i < len(fields) {
				return strings.TrimSpace(fields[i])
			}
			return ""
		}
		rule := Rule{
			ID:       get("rule_id"),
			Provider: Provider(strings.ToLower(get("provider"))),
			Code:     get("code"),
			Enhanced: get("enhanced"),
			Pattern:  get("pattern"),
			Reason:   Reason(strings.ToLower(get("reason"))),
			Scope:    Scope(strings.ToLower(get("scope"))),
			Meaning:  get("meaning"),
			Action:   get("action"),
			Links:    strings.Fields(get("links")),
			Source:   get("source"),
			Example:  get("example"),
			Note:     get("note"),
		}
		if prev, dup := seen[rule.ID]; dup {
			return nil, fmt.Errorf("rules: line %d: rule_id %q already used on line %d", line, rule.ID, prev)
		}
		if err := rule.compile(); err != nil {
			return nil, fmt.Errorf("rules: line %d: %w", line, err)
		}
		seen[rule.ID] = line
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	if cols == nil {
		return nil, errors.New("rules: no header line")
	}
	return rules, nil
}

// compile validates the rule and prepares its matchers.
func (r *Rule) compile() error {
	if r.ID == "" {
		return errors.New("empty rule_id")
	}
	if !r.Reason.Valid() {
		return fmt.Errorf("rule %s: unknown reason %q", r.ID, r.Reason)
	}
	if r.Scope == "" {
		r.Scope = defaultScope(r.Reason)
	} else if !r.Scope.Valid() {
		return fmt.Errorf("rule %s: unknown scope %q (ip, domain, recipient, message, tenant, infrastructure)", r.ID, r.Scope)
	}
	r.Provider = Provider(strings.ToLower(string(r.Provider)))
	r.anyProvider = r.Provider == "" || r.Provider == "generic" || r.Provider == "*"
	if r.Code == "" && r.Enhanced == "" && r.Pattern == "" {
		return fmt.Errorf("rule %s: needs a code, an enhanced code or a pattern", r.ID)
	}
	var err error
	if r.codes, err = parseCodeSpec(r.Code); err != nil {
		return fmt.Errorf("rule %s: code: %w", r.ID, err)
	}
	if r.enhanced, err = parseEnhancedSpec(r.Enhanced); err != nil {
		return fmt.Errorf("rule %s: enhanced: %w", r.ID, err)
	}
	r.re, r.branches = nil, nil
	if r.Pattern != "" {
		if r.re, err = regexp.Compile("(?i)" + r.Pattern); err != nil {
			return fmt.Errorf("rule %s: pattern: %w", r.ID, err)
		}
		for _, alt := range splitAlternatives(r.Pattern) {
			b := branch{lits: patternLiterals(alt)}
			if b.re, err = regexp.Compile("(?i)" + alt); err != nil {
				return fmt.Errorf("rule %s: pattern: %w", r.ID, err)
			}
			if len(b.lits) == 1 {
				if re, err := syntax.Parse("(?i)"+alt, syntax.Perl); err == nil && re.Simplify().Op == syntax.OpLiteral {
					b.literal = true
				}
			}
			r.branches = append(r.branches, b)
		}
	}
	return nil
}

// splitAlternatives splits a pattern at its top-level '|' signs.
func splitAlternatives(p string) []string {
	var out []string
	depth, start := 0, 0
	inClass := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if i+1 < len(p) && p[i+1] == ']' {
				i++
			}
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

// matches reports whether the rule applies to a parsed reply, its key and
// the detected provider. The cheap code checks run before the pattern.
func (r *Rule) matches(rep Reply, key string, provider Provider) bool {
	if !r.anyProvider && r.Provider != provider {
		return false
	}
	if len(r.codes) > 0 && !matchCode(r.codes, rep.Code) {
		return false
	}
	if len(r.enhanced) > 0 && !matchEnhanced(r.enhanced, rep.Enhanced) {
		return false
	}
	return r.re == nil || r.re.MatchString(key)
}

// matchesCodes is matches without the pattern.
func (r *Rule) matchesCodes(rep Reply, provider Provider) bool {
	if !r.anyProvider && r.Provider != provider {
		return false
	}
	if len(r.codes) > 0 && !matchCode(r.codes, rep.Code) {
		return false
	}
	return len(r.enhanced) == 0 || matchEnhanced(r.enhanced, rep.Enhanced)
}

type codeRange struct{ lo, hi int }

// parseCodeSpec reads "421", "4xx", "450-452" and comma lists of them.
func parseCodeSpec(spec string) ([]codeRange, error) {
	if spec == "" {
		return nil, nil
	}
	var out []codeRange
	for _, part := range strings.Split(spec, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		switch {
		case len(part) == 3 && strings.HasSuffix(part, "xx") && isCodeStart(part[0]):
			lo := int(part[0]-'0') * 100
			out = append(out, codeRange{lo, lo + 99})
		case strings.Contains(part, "-"):
			a, b, _ := strings.Cut(part, "-")
			lo, err1 := strconv.Atoi(a)
			hi, err2 := strconv.Atoi(b)
			if err1 != nil || err2 != nil || lo > hi || lo < 200 || hi > 599 {
				return nil, fmt.Errorf("bad range %q", part)
			}
			out = append(out, codeRange{lo, hi})
		default:
			n, err := strconv.Atoi(part)
			if err != nil || n < 200 || n > 599 {
				return nil, fmt.Errorf("bad reply code %q (want 421, 4xx or 450-452)", part)
			}
			out = append(out, codeRange{n, n})
		}
	}
	return out, nil
}

func matchCode(rs []codeRange, code int) bool {
	for _, r := range rs {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// enhancedRange matches class.subject.detail; class '*' and subject -1 match
// any, detail is a range (0-999 for '*').
type enhancedRange struct {
	class    byte
	subject  int
	dlo, dhi int
}

// parseEnhancedSpec reads "4.7.650", "4.7.500-699", "5.7.*", "*.1.1" lists.
func parseEnhancedSpec(spec string) ([]enhancedRange, error) {
	if spec == "" {
		return nil, nil
	}
	var out []enhancedRange
	for _, part := range strings.Split(spec, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		f := strings.Split(part, ".")
		if len(f) != 3 || len(f[0]) != 1 || (f[0] != "*" && f[0] != "x" && !isCodeStart(f[0][0])) {
			return nil, fmt.Errorf("bad enhanced code %q (want 5.7.1, 4.7.500-699, 5.7.* or *.1.1)", part)
		}
		e := enhancedRange{class: f[0][0], subject: -1, dlo: 0, dhi: 999}
		if e.class == 'x' {
			e.class = '*'
		}
		if f[1] != "*" {
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 0 || n > 7 {
				return nil, fmt.Errorf("bad subject in %q", part)
			}
			e.subject = n
		}
		if f[2] != "*" {
			a, b, isRange := strings.Cut(f[2], "-")
			lo, err1 := strconv.Atoi(a)
			hi := lo
			var err2 error
			if isRange {
				hi, err2 = strconv.Atoi(b)
			}
			if err1 != nil || err2 != nil || lo > hi || hi > 999 {
				return nil, fmt.Errorf("bad detail in %q", part)
			}
			e.dlo, e.dhi = lo, hi
		}
		out = append(out, e)
	}
	return out, nil
}

func matchEnhanced(rs []enhancedRange, code string) bool {
	if len(code) < 5 {
		return false
	}
	class := code[0]
	rest := code[2:]
	dot := strings.IndexByte(rest, '.')
	if dot < 0 {
		return false
	}
	subject, err1 := strconv.Atoi(rest[:dot])
	detail, err2 := strconv.Atoi(rest[dot+1:])
	if err1 != nil || err2 != nil {
		return false
	}
	for _, r := range rs {
		if (r.class == '*' && class != '2' || r.class == class) &&
			(r.subject < 0 || r.subject == subject) && detail >= r.dlo && detail <= r.dhi {
			return true
		}
	}
	return false
}

// providerMarker is one row of data/reply_providers.tsv: a lowercase text
// that identifies the provider when it appears in a reply or MX host name.
type providerMarker struct {
	provider Provider
	marker   string
}

func loadProviders(data []byte) ([]providerMarker, error) {
	var out []providerMarker
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 || strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) < 3 || f[0] == "" || f[1] == "" || f[2] == "" {
			return nil, fmt.Errorf("providers: line %d: want provider, marker and source", line)
		}
		out = append(out, providerMarker{provider: Provider(f[0]), marker: strings.ToLower(f[1])})
	}
	return out, sc.Err()
}

// providerOf names the provider behind a reply from its own identifiers
// (Microsoft S-codes, Yahoo [TSS..] codes ...), then from marker texts in the
// normalized reply, then from Exchange's three-digit enhanced details.
func (c *Classifier) providerOf(key string, codes []string, enhanced string) Provider {
	for _, code := range codes {
		switch {
		case isMicrosoftSCode(code), strings.HasPrefix(code, "PR(ct"), len(code) == 6 && code[2] == '-':
			return ProviderMicrosoft
		case strings.HasPrefix(code, "TS"), code == "PH01":
			return ProviderYahoo
		case strings.HasPrefix(code, "CS0"):
			return ProviderApple
		case strings.HasPrefix(code, "OFR"):
			return "orange"
		case strings.HasPrefix(code, "LPN"):
			return "laposte"
		case strings.HasPrefix(code, "p="):
			return ProviderGmail
		case strings.HasPrefix(code, "c="):
			return "unitedinternet"
		case len(code) == 8 && allDigits(code[2:]):
			return "comcast"
		case len(code) == 5 && strings.HasPrefix(code, "IB"):
			return "godaddy"
		}
	}
	for _, m := range c.providers {
		if strings.Contains(key, m.marker) {
			return m.provider
		}
	}
	if len(enhanced) >= 7 && enhanced[3] == '.' && len(enhanced)-4 == 3 {
		// Three-digit details (4.7.650, 5.7.606, 5.2.122) are Exchange's.
		return ProviderMicrosoft
	}
	return ProviderOther
}
