package analyze

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Reason is what a reply means, in Sisimai's vocabulary (sisimai.org
// "reason" list), which most bounce tooling already speaks.
type Reason string

// The reasons, with the meaning each carries here.
const (
	ReasonRateLimited     Reason = "ratelimited"     // volume or rate from this IP or sender is too high
	ReasonTooManyConn     Reason = "toomanyconn"     // too many concurrent connections or messages per connection
	ReasonBadReputation   Reason = "badreputation"   // IP or domain reputation, complaints
	ReasonBlocked         Reason = "blocked"         // on a block list or banned: needs delisting
	ReasonSpamDetected    Reason = "spamdetected"    // this message was judged spam
	ReasonPolicyViolation Reason = "policyviolation" // the receiver's local policy refused it
	ReasonAuthFailure     Reason = "authfailure"     // SPF/DKIM/DMARC missing or failing
	ReasonRequirePTR      Reason = "requireptr"      // the sending IP lacks valid reverse DNS
	ReasonNotCompliantRFC Reason = "notcompliantrfc" // message or SMTP dialogue breaks the RFCs
	ReasonFailedSTARTTLS  Reason = "failedstarttls"  // TLS was required or failed
	ReasonSecurityError   Reason = "securityerror"   // not authorized: authentication or permission
	ReasonUserUnknown     Reason = "userunknown"     // the recipient does not exist
	ReasonHostUnknown     Reason = "hostunknown"     // the recipient domain does not exist
	ReasonMailboxFull     Reason = "mailboxfull"     // the recipient's mailbox is over quota
	ReasonSuspend         Reason = "suspend"         // the recipient's mailbox is disabled
	ReasonHasMoved        Reason = "hasmoved"        // the recipient has moved
	ReasonNotAccept       Reason = "notaccept"       // the recipient domain accepts no mail (null MX)
	ReasonEmailTooLarge   Reason = "emailtoolarge"   // the message exceeds a size limit
	ReasonVirusDetected   Reason = "virusdetected"   // malware was found
	ReasonContentError    Reason = "contenterror"    // the message content or format was refused
	ReasonSystemError     Reason = "systemerror"     // a fault on the receiving side
	ReasonSystemFull      Reason = "systemfull"      // the receiving system is out of storage
	ReasonNetworkError    Reason = "networkerror"    // DNS or network failure, routing loop
	ReasonExpired         Reason = "expired"         // delivery gave up or timed out
	ReasonNoRelaying      Reason = "norelaying"      // the server does not relay for this domain
	ReasonRejected        Reason = "rejected"        // the sender (envelope from) was refused
	ReasonSuppressed      Reason = "suppressed"      // the sending service suppressed the address
	ReasonUndefined       Reason = "undefined"       // nothing said what it was
)

// Reasons lists the whole vocabulary in a stable order.
var Reasons = []Reason{
	ReasonRateLimited, ReasonTooManyConn, ReasonBadReputation, ReasonBlocked, ReasonSpamDetected,
	ReasonPolicyViolation, ReasonAuthFailure, ReasonRequirePTR, ReasonNotCompliantRFC, ReasonFailedSTARTTLS,
	ReasonSecurityError, ReasonUserUnknown, ReasonHostUnknown, ReasonMailboxFull, ReasonSuspend,
	ReasonHasMoved, ReasonNotAccept, ReasonEmailTooLarge, ReasonVirusDetected, ReasonContentError,
	ReasonSystemError, ReasonSystemFull, ReasonNetworkError, ReasonExpired, ReasonNoRelaying,
	ReasonRejected, ReasonSuppressed, ReasonUndefined,
}

// Valid reports whether r is in the vocabulary.
func (r Reason) Valid() bool {
	for _, v := range Reasons {
		if r == v {
			return true
		}
	}
	return false
}

// Scope says how wide a problem is: what the receiver is refusing.
type Scope string

// The scopes.
const (
	ScopeIP             Scope = "ip"             // the sending IP address
	ScopeDomain         Scope = "domain"         // the sending domain
	ScopeRecipient      Scope = "recipient"      // this recipient address or its domain
	ScopeMessage        Scope = "message"        // this message
	ScopeTenant         Scope = "tenant"         // the whole sending account or tenant
	ScopeInfrastructure Scope = "infrastructure" // the receiver's systems or the network between
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool {
	switch s {
	case ScopeIP, ScopeDomain, ScopeRecipient, ScopeMessage, ScopeTenant, ScopeInfrastructure:
		return true
	}
	return false
}

// defaultScope is the scope a reason has when a rule does not say.
func defaultScope(r Reason) Scope {
	switch r {
	case ReasonRateLimited, ReasonTooManyConn, ReasonBadReputation, ReasonBlocked, ReasonRequirePTR:
		return ScopeIP
	case ReasonAuthFailure, ReasonRejected:
		return ScopeDomain
	case ReasonUserUnknown, ReasonHostUnknown, ReasonMailboxFull, ReasonSuspend, ReasonHasMoved,
		ReasonNotAccept, ReasonSuppressed:
		return ScopeRecipient
	case ReasonSystemError, ReasonSystemFull, ReasonNetworkError, ReasonExpired, ReasonNoRelaying,
		ReasonFailedSTARTTLS:
		return ScopeInfrastructure
	}
	return ScopeMessage
}

// Classification is what one reply means and what to do about it.
type Classification struct {
	Reply         string   `json:"reply"`
	Code          int      `json:"code"`
	EnhancedCode  string   `json:"enhanced_code"`
	Reason        Reason   `json:"reason"`
	Temporary     bool     `json:"temporary"`
	Scope         Scope    `json:"scope"`
	Provider      Provider `json:"provider"`
	RuleID        string   `json:"rule_id"`
	ProviderCodes []string `json:"provider_codes,omitempty"`
	SendingIP     string   `json:"sending_ip,omitempty"`
	Meaning       string   `json:"meaning"`
	Action        string   `json:"action"`
	Links         []string `json:"links"`
	Key           string   `json:"key"`
}

//go:embed data/reply_rules.tsv
var builtinRules []byte

//go:embed data/reply_providers.tsv
var builtinProviders []byte

// cacheLimit bounds the memo of classified keys; a store of a million
// replies has a few thousand distinct keys, so the bound is rarely reached.
const cacheLimit = 1 << 16

// Classifier classifies replies with an ordered rule list: user rules first,
// then the embedded knowledge base (provider rules, then generic phrasing,
// then enhanced-code and reply-code fallbacks). The first match wins. It is
// safe for concurrent use.
type Classifier struct {
	rules     []*Rule
	providers []providerMarker
	// literals prefilters the patterns: branchLits[i][j] lists the literal
	// ids of which branch j of rules[i] needs one (nil: always try it).
	literals   *literalSet
	branchLits [][][]int32
	version    string

	mu    sync.RWMutex
	cache map[string]cached         // by normalized key: the rule and provider
	exact map[string]Classification // by verbatim reply: the whole answer
}

type cached struct {
	rule     *Rule
	provider Provider
	key      string
}

// NewClassifier builds a classifier from the embedded rules. Extra rules take
// precedence over them, and an extra rule with the ID of a built-in one
// replaces it.
func NewClassifier(extra ...Rule) (*Classifier, error) {
	builtin, err := LoadRules(bytes.NewReader(builtinRules))
	if err != nil {
		return nil, fmt.Errorf("embedded reply rules: %w", err)
	}
	providers, err := loadProviders(builtinProviders)
	if err != nil {
		return nil, fmt.Errorf("embedded provider markers: %w", err)
	}
	override := make(map[string]bool, len(extra))
	c := &Classifier{providers: providers, cache: make(map[string]cached), exact: make(map[string]Classification)}
	for i := range extra {
		r := extra[i]
		if err := r.compile(); err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		override[r.ID] = true
		c.rules = append(c.rules, &r)
	}
	for i := range builtin {
		if !override[builtin[i].ID] {
			c.rules = append(c.rules, &builtin[i])
		}
	}
	c.buildPrefilter()
	c.version = rulesVersion(c.rules, builtinProviders)
	return c, nil
}

// rulesVersion fingerprints what decides a classification, so stored
// classifications made with other rules can be found and refreshed.
func rulesVersion(rules []*Rule, providers []byte) string {
	h := sha256.New()
	for _, r := range rules {
		fmt.Fprintf(h, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Provider, r.Code, r.Enhanced, r.Pattern, r.Reason, r.Scope)
	}
	h.Write(providers)
	return "rules-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// Version names the rule set: the same rules give the same version.
func (c *Classifier) Version() string { return c.version }

// ClassifyParts classifies a reply stored as separate fields, as ESP events
// carry it: when the text lacks the reply or enhanced code it is put in
// front, so "Mailbox full" with 552 and 5.2.2 reads as "552 5.2.2 Mailbox full".
func (c *Classifier) ClassifyParts(text string, code int, enhanced string) Classification {
	r := ParseReply(text)
	full := text
	if enhanced != "" && r.Enhanced == "" {
		full = enhanced + " " + full
	}
	if code != 0 && r.Code == 0 {
		full = strconv.Itoa(code) + " " + full
	}
	out := c.Classify(full)
	out.Reply = text
	return out
}

// buildPrefilter collects the literals each rule's pattern needs into one
// automaton.
func (c *Classifier) buildPrefilter() {
	ids := map[string]int32{}
	var lits []string
	c.branchLits = make([][][]int32, len(c.rules))
	for i, r := range c.rules {
		c.branchLits[i] = make([][]int32, len(r.branches))
		for j, b := range r.branches {
			for _, l := range b.lits {
				id, ok := ids[l]
				if !ok {
					id = int32(len(lits))
					ids[l] = id
					lits = append(lits, l)
				}
				c.branchLits[i][j] = append(c.branchLits[i][j], id)
			}
		}
	}
	c.literals = newLiteralSet(lits)
}

// Rules returns the rules in the order they are tried.
func (c *Classifier) Rules() []Rule {
	out := make([]Rule, len(c.rules))
	for i, r := range c.rules {
		out[i] = *r
	}
	return out
}

// Classify classifies one reply; the provider comes from the reply itself.
func (c *Classifier) Classify(reply string) Classification {
	return c.ClassifyFor(reply, "")
}

// ClassifyFor classifies one reply sent by a known provider (from the MX host
// or recipient domain); an empty provider, or ProviderOther, means detect it
// from the reply.
// Results share their slices with the classifier's memo: do not modify them.
func (c *Classifier) ClassifyFor(reply string, provider Provider) Classification {
	if provider == ProviderOther {
		provider = ""
	}
	// Stores repeat the very same reply text (one sending IP, one MX pool)
	// far more often than not, so a verbatim memo skips even the parse.
	ek := reply
	if provider != "" {
		ek = reply + "\x00" + string(provider)
	}
	c.mu.RLock()
	out, ok := c.exact[ek]
	c.mu.RUnlock()
	if ok {
		return out
	}
	out = c.classify(reply, provider)
	// A reply whose key shows per-message parts (ids, addresses, times) will
	// not come again verbatim: memoizing it would only churn the memo.
	if !perMessage(out.Key) {
		c.mu.Lock()
		if len(c.exact) >= cacheLimit {
			clear(c.exact)
		}
		c.exact[ek] = out
		c.mu.Unlock()
	}
	return out
}

// perMessage reports whether a normalized key had parts that change from
// message to message.
func perMessage(key string) bool {
	for i := strings.IndexByte(key, '<'); i >= 0; {
		rest := key[i:]
		for _, ph := range [...]string{phID, phHex, phTime, phAddr, phNum} {
			if strings.HasPrefix(rest, ph) {
				return true
			}
		}
		j := strings.IndexByte(rest[1:], '<')
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return false
}

// classify does the work of ClassifyFor behind the verbatim memo.
func (c *Classifier) classify(reply string, provider Provider) Classification {
	r := ParseReply(reply)
	var buf [1024]byte
	kb := r.AppendKey(buf[:0])
	if provider == "" && r.Host != "" {
		provider = c.providerOf(strings.ToLower(r.Host), nil, "")
	}
	if provider != "" {
		kb = append(append(kb, 0), string(provider)...)
	}
	c.mu.RLock()
	hit, ok := c.cache[string(kb)]
	c.mu.RUnlock()
	if !ok {
		ck := string(kb)
		hit.key = ck
		if provider != "" {
			hit.key = ck[:len(ck)-len(provider)-1]
		}
		hit.provider = provider
		if hit.provider == "" {
			hit.provider = c.providerOf(hit.key, r.ProviderCodes, r.Enhanced)
		}
		hit.rule = c.match(r, hit.key, hit.provider)
		c.mu.Lock()
		if len(c.cache) >= cacheLimit {
			clear(c.cache)
		}
		c.cache[ck] = hit
		c.mu.Unlock()
	}
	key := hit.key
	out := Classification{
		Reply:         reply,
		Code:          r.Code,
		EnhancedCode:  r.Enhanced,
		Provider:      hit.provider,
		ProviderCodes: r.ProviderCodes,
		SendingIP:     r.SendingIP,
		Key:           key,
		Links:         []string{},
	}
	rule := hit.rule
	if rule == nil {
		out.Reason = ReasonUndefined
		out.Scope = ScopeMessage
		out.Meaning = "No rule recognised this reply."
		out.Action = "Read the reply text; if it repeats, add a rule for it with --rules."
	} else {
		out.Reason = rule.Reason
		out.Scope = rule.Scope
		out.RuleID = rule.ID
		out.Meaning = rule.Meaning
		out.Action = rule.Action
		if len(rule.Links) > 0 {
			out.Links = rule.Links
		}
	}
	out.Temporary = temporary(r, key)
	return out
}

// match returns the first rule that applies, or nil.
func (c *Classifier) match(r Reply, key string, provider Provider) *Rule {
	seen := make([]bool, c.literals.n)
	c.literals.scan(key, seen)
	for i, rule := range c.rules {
		if !rule.matchesCodes(r, provider) {
			continue
		}
		if len(rule.branches) == 0 {
			return rule
		}
		for j, b := range rule.branches {
			lits := c.branchLits[i][j]
			if lits != nil && !anySeen(lits, seen) {
				continue
			}
			if b.literal || b.re.MatchString(key) {
				return rule
			}
		}
	}
	return nil
}

func anySeen(ids []int32, seen []bool) bool {
	for _, id := range ids {
		if seen[id] {
			return true
		}
	}
	return false
}

// temporary decides whether a reply is a transient failure. The reply's own
// first code decides when it has one; only texts without any code (an MTA's
// own words, such as "connect to x: Connection timed out") are judged by
// their wording, and that is a guess.
func temporary(r Reply, key string) bool {
	if t, known := r.Temporary(); known {
		return t
	}
	// Postfix words a deferral as "connect to host[ip]:25: ..." or "lost
	// connection with ..."; DNS and local disk-quota failures are retried.
	for _, w := range []string{"deferred", "temporar", "try again", "later", "connect to ", "lost connection",
		"dns error", "network error", "no route to host", "disk quota exceeded"} {
		if strings.Contains(key, w) {
			return true
		}
	}
	return false
}

// ClassifyAll classifies many replies on all CPUs, returning results in
// input order; a store refresh or a large input file goes through here.
func (c *Classifier) ClassifyAll(replies []string) []Classification {
	out := make([]Classification, len(replies))
	workers := runtime.GOMAXPROCS(0)
	if workers > len(replies)/1024 {
		workers = len(replies)/1024 + 1
	}
	var wg sync.WaitGroup
	chunk := (len(replies) + workers - 1) / workers
	for start := 0; start < len(replies); start += chunk {
		end := min(start+chunk, len(replies))
		wg.Add(1)
		go func(start, end int) {
			defer wg.Done()
			for i := start; i < end; i++ {
				out[i] = c.Classify(replies[i])
			}
		}(start, end)
	}
	wg.Wait()
	return out
}
