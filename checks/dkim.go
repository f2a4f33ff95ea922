package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIMKey is what one selector of a domain publishes.
type DKIMKey struct {
	Selector string `json:"selector"`
	Domain   string `json:"domain"`
	Name     string `json:"name"`
	// Source is "given" for --selector, "signature" for a selector seen in
	// the message, else the provider whose default it is.
	Source  string         `json:"source"`
	Status  string         `json:"status"` // ok, revoked, invalid, missing, multiple, error
	Record  string         `json:"record,omitempty"`
	CNAMEs  []string       `json:"cnames,omitempty"`
	Key     *DKIMKeyRecord `json:"key,omitempty"`
	Problem string         `json:"problem,omitempty"`
}

// lookupDKIMKey fetches and parses selector._domainkey.domain.
func lookupDKIMKey(ctx context.Context, r Resolver, selector, domain, source string) DKIMKey {
	k := DKIMKey{Selector: selector, Domain: domain, Name: selector + "._domainkey." + domain, Source: source}
	ans, err := r.Lookup(ctx, k.Name, TypeTXT)
	k.CNAMEs = ans.CNAMEs
	switch {
	case err != nil:
		k.Status, k.Problem = "error", err.Error()
		return k
	case ans.Status.Void():
		k.Status = "missing"
		return k
	}
	texts := ans.Texts()
	if len(texts) > 1 {
		k.Status, k.Problem = "multiple", fmt.Sprintf("%d TXT records; verifiers reject the key (RFC 6376 3.6.2.2)", len(texts))
		k.Record = strings.Join(texts, " | ")
		return k
	}
	k.Record = texts[0]
	key, err := ParseDKIMKey(k.Record)
	if err != nil {
		k.Status, k.Problem = "invalid", err.Error()
		return k
	}
	k.Key = key
	k.Status = "ok"
	if key.Revoked {
		k.Status = "revoked"
	}
	return k
}

// DKIMSignature is one DKIM-Signature of a message and its verification.
type DKIMSignature struct {
	Domain           string   `json:"domain"`   // d=
	Selector         string   `json:"selector"` // s=
	Identity         string   `json:"identity,omitempty"`
	Algorithm        string   `json:"algorithm,omitempty"`        // a=
	Canonicalization string   `json:"canonicalization,omitempty"` // c=, header/body
	SignedHeaders    []string `json:"signed_headers,omitempty"`   // h=
	BodyLength       bool     `json:"body_length,omitempty"`      // l= present
	// Result is pass, fail, permerror or temperror (RFC 8601 names).
	Result  string `json:"result"`
	Problem string `json:"problem,omitempty"`
	// Aligned: d= has the From domain's Organizational Domain (relaxed).
	Aligned bool `json:"aligned"`
}

// headerCanon and bodyCanon split c= ("simple" when absent, RFC 6376 3.5).
func (s DKIMSignature) headerCanon() string {
	h, _, _ := strings.Cut(s.Canonicalization, "/")
	if h == "" {
		return "simple"
	}
	return h
}

func (s DKIMSignature) bodyCanon() string {
	_, b, ok := strings.Cut(s.Canonicalization, "/")
	if !ok || b == "" {
		return "simple"
	}
	return b
}

// Message holds what the checks need from a message file.
type Message struct {
	FromAddress string          `json:"from_address,omitempty"`
	FromDomain  string          `json:"from_domain,omitempty"`
	FromCount   int             `json:"from_count"` // addresses in From (DMARC needs exactly one)
	Signatures  []DKIMSignature `json:"signatures,omitempty"`
	// ListUnsubscribe and ListUnsubscribePost: Google's and Yahoo's
	// one-click unsubscribe (RFC 8058) for bulk mail.
	ListUnsubscribe     bool     `json:"list_unsubscribe"`
	ListUnsubscribePost bool     `json:"list_unsubscribe_post"`
	headers             []string // header field names present, lower-case
	raw                 []byte   // CRLF line endings
}

// ParseMessage reads an RFC 5322 message; bare LF line endings are turned
// into CRLF, the form DKIM signs.
func ParseMessage(raw []byte) (*Message, error) {
	norm := toCRLF(raw)
	m, err := mail.ReadMessage(bytes.NewReader(norm))
	if err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	msg := &Message{raw: norm}
	for k := range m.Header {
		msg.headers = append(msg.headers, strings.ToLower(k))
	}
	// every address in every From field counts: DMARC needs exactly one
	for _, from := range m.Header["From"] {
		list, err := mail.ParseAddressList(from)
		if err != nil {
			msg.FromCount++
			continue
		}
		for _, a := range list {
			if msg.FromAddress == "" {
				msg.FromAddress = a.Address
				msg.FromDomain = strings.ToLower(a.Address[strings.LastIndexByte(a.Address, '@')+1:])
			}
		}
		msg.FromCount += len(list)
	}
	msg.ListUnsubscribe = m.Header.Get("List-Unsubscribe") != ""
	msg.ListUnsubscribePost = strings.EqualFold(strings.TrimSpace(m.Header.Get("List-Unsubscribe-Post")), "List-Unsubscribe=One-Click")
	for _, v := range m.Header["Dkim-Signature"] {
		msg.Signatures = append(msg.Signatures, parseSignatureTags(v))
	}
	return msg, nil
}

func toCRLF(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/20)
	for i := 0; i < len(b); i++ {
		if b[i] == '\n' && (i == 0 || b[i-1] != '\r') {
			out.WriteByte('\r')
		}
		out.WriteByte(b[i])
	}
	return out.Bytes()
}

// parseSignatureTags reads the tags of a DKIM-Signature for the report;
// go-msgauth does the verification.
func parseSignatureTags(v string) DKIMSignature {
	s := DKIMSignature{}
	tags, err := parseTagList(v)
	if err != nil {
		s.Problem = "malformed signature: " + err.Error()
		return s
	}
	for _, t := range tags {
		val := stripFWS(t.value)
		switch t.name {
		case "d":
			s.Domain = strings.ToLower(val)
		case "s":
			s.Selector = val
		case "i":
			s.Identity = val
		case "a":
			s.Algorithm = strings.ToLower(val)
		case "c":
			s.Canonicalization = strings.ToLower(val)
		case "h":
			for _, h := range strings.Split(val, ":") {
				if h != "" {
					s.SignedHeaders = append(s.SignedHeaders, strings.ToLower(h))
				}
			}
		case "l":
			s.BodyLength = true
		}
	}
	return s
}

func stripFWS(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

// verifyMessage verifies every signature through our resolver.
func verifyMessage(ctx context.Context, r Resolver, msg *Message) error {
	lookup := func(name string) ([]string, error) {
		ans, err := r.Lookup(ctx, name, TypeTXT)
		if err != nil {
			// go-msgauth calls a net.Error with Temporary() a temperror
			return nil, &net.DNSError{Err: string(ans.Status), Name: name, IsTimeout: ans.Status == StatusTimeout, IsTemporary: true}
		}
		if ans.Status == StatusNXDomain {
			return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		}
		return ans.Texts(), nil
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg.raw), &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: 10})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return fmt.Errorf("dkim verify: %w", err)
	}
	for i := range msg.Signatures {
		s := &msg.Signatures[i]
		if i >= len(verifs) {
			s.Result, s.Problem = "permerror", "not verified: more than 10 signatures"
			continue
		}
		v := verifs[i]
		switch {
		case v.Err == nil:
			s.Result = "pass"
		case dkim.IsTempFail(v.Err):
			s.Result, s.Problem = "temperror", v.Err.Error()
		case dkim.IsPermFail(v.Err):
			s.Result, s.Problem = "permerror", v.Err.Error()
		default:
			s.Result, s.Problem = "fail", v.Err.Error()
		}
		if s.Domain == "" {
			s.Domain = strings.ToLower(v.Domain)
		}
	}
	return nil
}

// DKIMReport is the DKIM part of a report.
type DKIMReport struct {
	Domain   string    `json:"domain"`
	Keys     []DKIMKey `json:"keys"`
	Probed   int       `json:"probed"` // selectors queried
	Message  *Message  `json:"message,omitempty"`
	Findings []Finding `json:"findings"`
}

// DKIMOptions says what to check.
type DKIMOptions struct {
	Domain    string
	Selectors []string // given by the user
	Probe     bool     // also try the common selectors
	Message   *Message // optional; its signatures are verified
}

// InspectDKIM looks up the keys of the given and common selectors and, with
// a message, verifies its signatures.
func InspectDKIM(ctx context.Context, r Resolver, o DKIMOptions) *DKIMReport {
	rep := &DKIMReport{Domain: strings.ToLower(o.Domain)}
	f := &findings{check: CheckDKIM}
	type want struct{ selector, domain, source string }
	var wants []want
	seen := map[string]bool{}
	addWant := func(sel, dom, src string) {
		key := strings.ToLower(sel + "." + dom)
		if sel == "" || dom == "" || seen[key] {
			return
		}
		seen[key] = true
		wants = append(wants, want{sel, strings.ToLower(dom), src})
	}
	for _, s := range o.Selectors {
		addWant(s, rep.Domain, "given")
	}
	if o.Message != nil {
		for _, s := range o.Message.Signatures {
			addWant(s.Selector, s.Domain, "signature")
		}
	}
	if o.Probe {
		defaults, err := DefaultSelectors()
		if err != nil {
			f.add("dkim.knowledge_error", SeverityWarn, rep.Domain, "the built-in selector list could not be read: %v", err)
		}
		for _, d := range defaults {
			addWant(d.Selector, rep.Domain, d.Provider)
		}
	}
	var probeErrors []string
	for _, w := range wants {
		k := lookupDKIMKey(ctx, r, w.selector, w.domain, w.source)
		rep.Probed++
		probe := w.source != "given" && w.source != "signature"
		if probe && k.Status == "missing" {
			continue // a probe that found nothing is not news
		}
		rep.Keys = append(rep.Keys, k)
		if probe && k.Status == "error" {
			// one finding for all, not one per guessed selector
			probeErrors = append(probeErrors, k.Name+": "+k.Problem)
			continue
		}
		keyFindings(f, k)
	}
	if len(probeErrors) > 0 {
		f.add("dkim.probe_dns_error", SeverityWarn, rep.Domain, "%d of the common selectors could not be looked up; keys there may have been missed", len(probeErrors)).with(probeErrors...)
	}
	found := slices.ContainsFunc(rep.Keys, func(k DKIMKey) bool { return k.Domain == rep.Domain && k.Status == "ok" })
	if !found && o.Message == nil {
		sev := SeverityWarn
		if len(o.Selectors) > 0 {
			sev = SeverityFail
		}
		f.add("dkim.no_key_found", sev, rep.Domain, "no usable DKIM key found for %s at %d selector(s); give the selector your sender signs with (--selector), or a signed message (--message)", rep.Domain, rep.Probed)
	}
	if o.Message != nil {
		rep.Message = o.Message
		if err := verifyMessage(ctx, r, o.Message); err != nil {
			f.add("dkim.message_unreadable", SeverityFail, rep.Domain, "the message could not be verified: %v", err)
		} else {
			messageFindings(ctx, r, f, o.Message)
		}
	}
	rep.Findings = f.list
	return rep
}

func keyFindings(f *findings, k DKIMKey) {
	subject := k.Name
	ev := []string{}
	for i, c := range k.CNAMEs {
		prev := k.Name
		if i > 0 {
			prev = k.CNAMEs[i-1]
		}
		ev = append(ev, prev+" CNAME "+c)
	}
	if k.Record != "" {
		ev = append(ev, k.Name+" TXT "+k.Record)
	}
	explicit := k.Source == "given" || k.Source == "signature"
	switch k.Status {
	case "missing":
		f.add("dkim.selector_missing", SeverityFail, subject, "selector %q has no key record at %s", k.Selector, k.Name).with(k.Name + " TXT: not found")
		return
	case "error":
		f.add("dkim.dns_error", SeverityWarn, subject, "the key at %s could not be read: %s", k.Name, k.Problem).with(ev...)
		return
	case "multiple":
		f.add("dkim.multiple_records", SeverityFail, subject, "%s: %s", k.Name, k.Problem).with(ev...)
		return
	case "invalid":
		f.add("dkim.key_invalid", SeverityFail, subject, "the key record at %s is invalid: %s; signatures with it fail", k.Name, k.Problem).with(ev...)
		return
	case "revoked":
		sev := SeverityInfo
		if explicit {
			sev = SeverityFail
		}
		f.add("dkim.key_revoked", sev, subject, "selector %q is revoked (empty p=); signatures made with it fail", k.Selector).with(ev...)
		return
	}
	key := k.Key
	via := ""
	if k.Source != "given" && k.Source != "signature" {
		via = " (default selector of " + k.Source + ")"
	}
	switch {
	case key.KeyType == "rsa" && key.Bits < 1024:
		f.add("dkim.key_too_short", SeverityFail, subject, "selector %q has a %d-bit RSA key; verifiers ignore keys under 1024 bits (RFC 8301 3.2)", k.Selector, key.Bits).with(ev...)
	case key.KeyType == "rsa" && key.Bits == 1024:
		f.add("dkim.key_1024", SeverityWarn, subject, "selector %q%s has a 1024-bit RSA key, the minimum; rotate to 2048 bits", k.Selector, via).with(ev...)
	default:
		f.add("dkim.key_ok", SeverityOK, subject, "selector %q%s publishes a %d-bit %s key", k.Selector, via, key.Bits, strings.ToUpper(key.KeyType)).with(ev...)
	}
	if key.Testing {
		f.add("dkim.key_testing", SeverityWarn, subject, "selector %q has t=y (testing): receivers may treat its signatures as unsigned", k.Selector).with(ev...)
	}
	if key.SHA1Only() {
		f.add("dkim.key_sha1_only", SeverityFail, subject, "selector %q allows only h=sha1, which verifiers must not accept (RFC 8301 3.1)", k.Selector).with(ev...)
	}
	if !key.ForEmail() {
		f.add("dkim.key_not_for_email", SeverityFail, subject, "selector %q has s=%s: the key may not sign email", k.Selector, strings.Join(key.Services, ":")).with(ev...)
	}
}

// recommendedSigned are header fields RFC 6376 5.4.1 says should be signed;
// only those present in the message are checked.
func recommendedSigned() []string {
	return []string{"from", "subject", "date", "to", "cc", "reply-to", "message-id", "mime-version", "content-type", "list-unsubscribe", "list-unsubscribe-post"}
}

func messageFindings(ctx context.Context, r Resolver, f *findings, m *Message) {
	subject := m.FromDomain
	if subject == "" {
		subject = "message"
	}
	if m.FromCount != 1 {
		f.add("dkim.from_invalid", SeverityFail, subject, "the message has %d From addresses; DMARC needs exactly one author domain", m.FromCount)
	}
	if len(m.Signatures) == 0 {
		f.add("dkim.unsigned", SeverityFail, subject, "the message has no DKIM-Signature; Microsoft, Google and Yahoo require DKIM for bulk mail")
		return
	}
	alignedPass := false
	for i := range m.Signatures {
		s := &m.Signatures[i]
		if m.FromDomain != "" && s.Domain != "" {
			s.Aligned, _ = Aligned(ctx, r, m.FromDomain, s.Domain, false)
		}
		sub := fmt.Sprintf("d=%s s=%s", s.Domain, s.Selector)
		ev := []string{fmt.Sprintf("a=%s c=%s h=%s", s.Algorithm, s.Canonicalization, strings.Join(s.SignedHeaders, ":"))}
		align := "not aligned with From " + m.FromDomain
		if s.Aligned {
			align = "aligned with From " + m.FromDomain
		}
		switch s.Result {
		case "pass":
			f.add("dkim.signature.pass", SeverityOK, sub, "signature d=%s s=%s verifies (%s)", s.Domain, s.Selector, align).with(ev...)
			if s.Aligned {
				alignedPass = true
			}
		case "temperror":
			f.add("dkim.signature.temperror", SeverityWarn, sub, "signature d=%s s=%s could not be checked: %s", s.Domain, s.Selector, s.Problem).with(ev...)
		default:
			f.add("dkim.signature."+s.Result, SeverityFail, sub, "signature d=%s s=%s: %s: %s", s.Domain, s.Selector, s.Result, s.Problem).with(ev...)
		}
		if s.headerCanon() == "simple" || s.bodyCanon() == "simple" {
			f.add("dkim.canonicalization_simple", SeverityWarn, sub, "c=%s/%s: simple canonicalization breaks when a relay re-folds headers or trims whitespace, as happens on the way into Microsoft; sign with c=relaxed/relaxed", s.headerCanon(), s.bodyCanon()).with(ev...)
		}
		if s.Algorithm == "rsa-sha1" {
			f.add("dkim.rsa_sha1", SeverityFail, sub, "a=rsa-sha1 must not be used for signing or verifying (RFC 8301 3.1)").with(ev...)
		}
		if s.BodyLength {
			f.add("dkim.body_length", SeverityWarn, sub, "l= signs only part of the body: anyone can append content, and some verifiers reject it").with(ev...)
		}
		var missing []string
		for _, h := range recommendedSigned() {
			if slices.Contains(m.headers, h) && !slices.Contains(s.SignedHeaders, h) {
				missing = append(missing, h)
			}
		}
		if len(missing) > 0 {
			f.add("dkim.headers_unsigned", SeverityWarn, sub, "present but not signed: %s", strings.Join(missing, ", ")).with(ev...)
		} else {
			f.add("dkim.signed_headers", SeverityInfo, sub, "signed headers: %s", strings.Join(s.SignedHeaders, ", ")).with(ev...)
		}
	}
	if !alignedPass && m.FromDomain != "" {
		f.add("dkim.no_aligned_pass", SeverityFail, m.FromDomain, "no signature both verifies and aligns with the From domain %s; DMARC then rests on SPF alone", m.FromDomain)
	}
}
