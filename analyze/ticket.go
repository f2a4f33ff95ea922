package analyze

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/senderscope/senderscope/ingest"
)

// TicketSource is what a ticket reads.
type TicketSource interface {
	OnsetSource
	RateSource
	CodeGroups(ctx context.Context, provider string, from, to time.Time) ([]ingest.CodeGroup, error)
	DeferredDomains(ctx context.Context, provider string, from, to time.Time) ([]ingest.DomainCount, error)
	SNDSRows(ctx context.Context, from, to time.Time) ([]ingest.SNDSDay, error)
}

// Contact is what the sender says about itself; nothing here is guessed.
type Contact struct {
	Name            string `json:"contact_name" yaml:"contact_name"`
	Email           string `json:"contact_email" yaml:"contact_email"`
	Website         string `json:"website" yaml:"website"`
	SelfDescription string `json:"self_description" yaml:"self_description"`
	ServerType      string `json:"server_type" yaml:"server_type"`
	TimeZone        string `json:"time_zone" yaml:"time_zone"`
	SendingDomain   string `json:"sending_domain" yaml:"sending_domain"`
}

// SelfDescriptions are the form's choices for "How would you describe your company".
var SelfDescriptions = []string{"Internet Service Provider (ISP)", "E-mail Service Provider (ESP)", "Windows Live Hotmail Customer",
	"Customer of an ISP other than Windows Live Hotmail", "University IT", "Business (non-marketing)", "Other"}

// ServerTypes are the form's choices for "dedicated or shared".
var ServerTypes = []string{"Unknown", "Dedicated", "Shared"}

// DomainsTo are the form's choices for "What domain are you sending to".
var DomainsTo = []string{"hotmail.com", "live.com", "msn.com", "outlook.com", "other"}

// NormalizeChoice maps what a user typed to one of the form's choices.
func NormalizeChoice(v string, choices []string, aliases map[string]string) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(v))
	if a, ok := aliases[t]; ok {
		t = strings.ToLower(a)
	}
	for _, c := range choices {
		if strings.ToLower(c) == t {
			return c, true
		}
	}
	return "", false
}

// SelfDescriptionAliases are short forms accepted for --self-description.
var SelfDescriptionAliases = map[string]string{"isp": "Internet Service Provider (ISP)", "esp": "E-mail Service Provider (ESP)",
	"business": "Business (non-marketing)", "university": "University IT", "other": "Other"}

// AuthFinding is one DNS check result as the ticket quotes it.
type AuthFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Subject  string `json:"subject"`
	Message  string `json:"message"`
}

// TicketOptions shape a ticket.
type TicketOptions struct {
	Contact     Contact
	Remediation []string // what was already changed, in the sender's words
	// Cap is the per-IP limit now applied to the provider, when there is one:
	// it bounds the projected volume.
	Cap  *Limit
	Auth []AuthFinding // nil when no DNS checks were run
	// AuthSkipped says why there are no auth results.
	AuthSkipped string
	Redact      bool
}

// Channel is where a request goes.
type Channel string

const (
	ChannelOutlookForm  Channel = "outlook_sender_form"    // Outlook.com consumer: Sender Information for Outlook.com Delivery
	ChannelDelistPortal Channel = "microsoft365_delist"    // Microsoft 365 / EOP: self-service delist portal
	ChannelDelistEmail  Channel = "delist_email"           // 5.7.511: email delist@microsoft.com
	ChannelFixAuth      Channel = "fix_authentication"     // 5.7.515: no ticket helps until authentication passes
	ChannelProviderSide Channel = "provider_side_incident" // looks like Microsoft's fault: check status, then ask
	ChannelNone         Channel = "none"                   // nothing to escalate
)

// Route is one channel with why it applies and how to use it.
type Route struct {
	Channel Channel  `json:"channel"`
	Name    string   `json:"name"`
	URL     string   `json:"url,omitempty"`
	Why     string   `json:"why"`
	Steps   []string `json:"steps,omitempty"`
}

// FormField is one field of the support form, ready to copy.
type FormField struct {
	ID      string   `json:"id"`
	Label   string   `json:"label"`
	Value   string   `json:"value"`
	Choices []string `json:"choices,omitempty"`
	Missing bool     `json:"missing"`
	Note    string   `json:"note,omitempty"`
}

// VolumeRow is one IP's traffic to the provider in one day or hour.
type VolumeRow struct {
	Start     time.Time `json:"start"`
	IP        string    `json:"ip"`
	Sends     int64     `json:"sends"`
	Attempts  int64     `json:"attempts"`
	Delivered int64     `json:"delivered"`
	Deferred  int64     `json:"deferred"`
	Bounced   int64     `json:"bounced"`
}

// CodeLine is the deferrals or bounces with one code on one IP.
type CodeLine struct {
	Type         string    `json:"type"`
	IP           string    `json:"ip"`
	SMTPCode     int       `json:"smtp_code"`
	EnhancedCode string    `json:"enhanced_code"`
	RuleID       string    `json:"rule_id,omitempty"` // Microsoft's S/AS code, e.g. S775
	Reason       string    `json:"reason,omitempty"`
	Count        int64     `json:"count"`
	Recipients   int64     `json:"recipients"`
	First        time.Time `json:"first"`
	Last         time.Time `json:"last"`
}

// TicketEvidence is what goes in the reply to the ticket e-mail: the form has
// no field for it.
type TicketEvidence struct {
	IPs             []string         `json:"ips"`
	IncidentStart   *time.Time       `json:"incident_start,omitempty"`
	Onsets          []Onset          `json:"onsets"`
	Spikes          []Spike          `json:"spikes"`
	Daily           []VolumeRow      `json:"daily_volume"`
	Hourly          []VolumeRow      `json:"hourly_volume"`
	Codes           []CodeLine       `json:"deferrals_by_code"`
	Attempts        int64            `json:"attempts_since_start"`
	Deferred        int64            `json:"deferred_since_start"`
	DeferralRate    float64          `json:"deferral_rate"`
	Band            Band             `json:"band"`
	Auth            []AuthFinding    `json:"auth,omitempty"`
	AuthSkipped     string           `json:"auth_skipped,omitempty"`
	SNDS            []ingest.SNDSDay `json:"snds,omitempty"`
	Remediation     []string         `json:"remediation"`
	DailyPerIP      float64          `json:"typical_daily_sends_per_ip"`
	ProjectedVolume string           `json:"projected_volume"`
}

// Ticket is a request to the provider's sender support, drafted from evidence.
type Ticket struct {
	Provider      string         `json:"provider"`
	Route         Route          `json:"route"`
	OtherRoutes   []Route        `json:"other_routes,omitempty"`
	Notices       []string       `json:"notices,omitempty"`
	Form          []FormField    `json:"form"`
	Missing       []string       `json:"missing_fields"`
	ErrorMessages []string       `json:"error_messages"`
	Evidence      TicketEvidence `json:"evidence"`
	Ask           string         `json:"ask"`
	Redacted      bool           `json:"redacted"`
}

var ruleIDRe = regexp.MustCompile(`\((S\d{3,9}|AS\(?\d{2,9}\)?)\)|\b(AS\(\d{2,9}\)|AS\d{3,9}|S\d{3,9})\b`)

// MicrosoftRuleID is the internal S/AS code Microsoft puts in a reply.
func MicrosoftRuleID(reply string) string {
	m := ruleIDRe.FindStringSubmatch(reply)
	if m == nil {
		return ""
	}
	if m[1] != "" {
		return m[1]
	}
	return m[2]
}

// DraftTicket assembles a request to Microsoft's sender support from the database.
func DraftTicket(ctx context.Context, src TicketSource, opts TicketOptions) (*Ticket, error) {
	const provider = string(ProviderMicrosoft)
	t := &Ticket{Provider: provider, Redacted: opts.Redact}
	onsets, err := Onsets(ctx, src, OnsetOptions{Provider: ProviderMicrosoft})
	if err != nil {
		return nil, err
	}
	ev := &t.Evidence
	ev.Onsets = onsets
	for _, o := range onsets {
		ft := firstTime(o)
		if ev.IncidentStart == nil || ft.Before(*ev.IncidentStart) {
			ev.IncidentStart = &ft
		}
	}
	var since time.Time
	if ev.IncidentStart != nil {
		since = *ev.IncidentStart
	}
	groups, err := src.CodeGroups(ctx, provider, since, time.Time{})
	if err != nil {
		return nil, err
	}
	ipSet := map[string]bool{}
	for _, g := range groups {
		ev.Codes = append(ev.Codes, CodeLine{Type: string(g.Type), IP: g.IP, SMTPCode: g.SMTPCode, EnhancedCode: g.EnhancedCode,
			RuleID: MicrosoftRuleID(g.Sample), Reason: g.Reason, Count: g.Count, Recipients: g.Recipients, First: g.First, Last: g.Last})
		if g.IP != "" {
			ipSet[g.IP] = true
		}
	}
	for ip := range ipSet {
		ev.IPs = append(ev.IPs, ip)
	}
	sort.Strings(ev.IPs)
	t.ErrorMessages = pickErrorMessages(groups, 5, opts.Redact)
	if err := volumes(ctx, src, ev, onsets); err != nil {
		return nil, err
	}
	// Every IP together: a burst split across IPs shows its full size.
	spikes, err := Spikes(ctx, src, SpikeOptions{Provider: ProviderMicrosoft, Window: time.Minute, Top: 3, Until: since})
	if err != nil {
		return nil, err
	}
	ev.Spikes = spikes.Spikes
	if ev.DeferralRate > 0 || ev.Attempts > 0 {
		ev.Band = BandFor(ev.DeferralRate)
	}
	ev.Auth, ev.AuthSkipped = opts.Auth, opts.AuthSkipped
	if ev.IncidentStart != nil {
		if ev.SNDS, err = src.SNDSRows(ctx, ev.IncidentStart.Add(-7*24*time.Hour), time.Time{}); err != nil {
			return nil, err
		}
	}
	ev.Remediation = opts.Remediation
	ev.ProjectedVolume = projected(ev, opts.Cap)
	domains, err := src.DeferredDomains(ctx, provider, since, time.Time{})
	if err != nil {
		return nil, err
	}
	route(t, groups)
	t.Form = form(t, opts, domains)
	for _, f := range t.Form {
		if f.Missing {
			t.Missing = append(t.Missing, f.Label)
		}
	}
	if len(opts.Remediation) == 0 && ev.IncidentStart != nil {
		t.Missing = append(t.Missing, "Remediation already applied (--remediation): support expects proof that the pattern stopped")
	}
	t.Ask = ask(t, opts)
	if opts.Redact {
		redactTicket(t)
	}
	return t, nil
}

// redactTicket replaces the local part of every address in the ticket's free
// text: replies quote recipients ("550 5.1.1 <jane@...>").
func redactTicket(t *Ticket) {
	for i := range t.ErrorMessages {
		t.ErrorMessages[i] = RedactAddresses(t.ErrorMessages[i])
	}
	for i := range t.Form {
		if t.Form[i].ID == "ErrorMessages" { // the contact e-mail is the sender's own and stays
			t.Form[i].Value = RedactAddresses(t.Form[i].Value)
		}
	}
	for i := range t.Evidence.Onsets {
		o := &t.Evidence.Onsets[i]
		for _, p := range []*ProblemEvent{o.FirstDeferral, o.FirstFailure} {
			if p != nil {
				p.Reply = RedactAddresses(p.Reply)
			}
		}
		o.Sentence = RedactAddresses(o.Sentence)
	}
	t.Ask = RedactAddresses(t.Ask)
}

// pickErrorMessages takes up to n distinct verbatim replies: deferrals and
// policy blocks only (an unknown-user bounce says nothing about the IPs),
// the most frequent code on each IP first, then the latest reply of each of
// those (the same code days later shows it persists), then other codes.
func pickErrorMessages(groups []ingest.CodeGroup, n int, redact bool) []string {
	var relevant []ingest.CodeGroup
	for _, g := range groups {
		if g.Type == ingest.TypeDeferred || strings.HasPrefix(g.EnhancedCode, "5.7.") || g.Reason == "blocked" || g.Reason == "badreputation" {
			relevant = append(relevant, g)
		}
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s == "" || seen[s] || len(out) >= n {
			return
		}
		seen[s] = true
		if redact {
			s = RedactAddresses(s)
		}
		out = append(out, s)
	}
	top := map[string]bool{}
	var tops []ingest.CodeGroup
	for _, g := range relevant {
		if !top[g.IP] {
			top[g.IP] = true
			tops = append(tops, g)
			add(g.Sample)
		}
	}
	for _, g := range tops {
		add(g.LastSample)
	}
	for _, g := range relevant {
		add(g.Sample)
	}
	return out
}

// volumes fills daily rows (7 days before the incident to its end, at most
// 21 days) and hourly rows (6 h before the burst to 6 h after the first
// deferral), and the rates since the start.
func volumes(ctx context.Context, src RateSource, ev *TicketEvidence, onsets []Onset) error {
	if ev.IncidentStart == nil {
		return nil
	}
	start := *ev.IncidentStart
	from := start.Truncate(24 * time.Hour).Add(-7 * 24 * time.Hour)
	outs, err := src.Outcomes(ctx, string(ProviderMicrosoft), from.Add(-28*24*time.Hour), from.Add(21*24*time.Hour))
	if err != nil {
		return err
	}
	hourFrom := start.Add(-6 * time.Hour)
	for _, o := range onsets {
		if o.Burst != nil && o.Burst.Start.Add(-6*time.Hour).Before(hourFrom) {
			hourFrom = o.Burst.Start.Add(-6 * time.Hour)
		}
	}
	hourFrom = hourFrom.Truncate(time.Hour)
	hourTo := start.Add(7 * time.Hour).Truncate(time.Hour)
	type key struct {
		t  int64
		ip string
	}
	daily, hourly := map[key]*VolumeRow{}, map[key]*VolumeRow{}
	var baseSends int64
	baseIPs := map[string]bool{}
	for _, o := range outs {
		t := time.Unix(o.Minute*60, 0).UTC()
		if t.Before(from) {
			baseSends += o.Sends
			if o.Sends > 0 {
				baseIPs[o.IP] = true
			}
			continue
		}
		add := func(m map[key]*VolumeRow, bucket time.Time) {
			k := key{bucket.Unix(), o.IP}
			r := m[k]
			if r == nil {
				r = &VolumeRow{Start: bucket, IP: o.IP}
				m[k] = r
			}
			r.Sends += o.Sends
			r.Attempts += o.Attempts
			r.Delivered += o.Delivered
			r.Deferred += o.Deferred
			r.Bounced += o.Bounced
		}
		add(daily, t.Truncate(24*time.Hour))
		if !t.Before(hourFrom) && t.Before(hourTo) {
			add(hourly, t.Truncate(time.Hour))
		}
		if !t.Before(start) {
			ev.Attempts += o.Attempts
			ev.Deferred += o.Deferred
		}
	}
	flatten := func(m map[key]*VolumeRow) []VolumeRow {
		out := make([]VolumeRow, 0, len(m))
		for _, r := range m {
			if r.Sends == 0 && r.Attempts == 0 {
				continue // drops and complaints without an IP
			}
			out = append(out, *r)
		}
		sort.Slice(out, func(i, j int) bool {
			if !out[i].Start.Equal(out[j].Start) {
				return out[i].Start.Before(out[j].Start)
			}
			return out[i].IP < out[j].IP
		})
		return out
	}
	ev.Daily, ev.Hourly = flatten(daily), flatten(hourly)
	if ev.Attempts > 0 {
		ev.DeferralRate = float64(ev.Deferred) / float64(ev.Attempts)
	}
	if n := len(baseIPs); n > 0 {
		ev.DailyPerIP = float64(baseSends) / 28 / float64(n)
	}
	return nil
}

func projected(ev *TicketEvidence, cap *Limit) string {
	if ev.DailyPerIP == 0 {
		return ""
	}
	s := fmt.Sprintf("about %s messages a day per IP to Outlook.com (the average of the 28 days before the week of the incident)", fmtCount(int64(ev.DailyPerIP+0.5)))
	if cap != nil {
		s += fmt.Sprintf(", never more than %d per %s per IP under the cap now in place", cap.N, periodWord(cap.Per))
	}
	return s
}

func periodWord(d time.Duration) string {
	switch d {
	case time.Second:
		return "second"
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	case 24 * time.Hour:
		return "day"
	}
	return FormatWindow(d)
}

func fmtCount(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func enhancedIn(code string, lo, hi int) bool {
	var a, b, c int
	if _, err := fmt.Sscanf(code, "%d.%d.%d", &a, &b, &c); err != nil {
		return false
	}
	n := a*100000 + b*1000 + c
	return n >= lo && n <= hi
}

const (
	olcFormURL   = "https://olcsupport.office.com/"
	delistPortal = "https://sender.office.com/"
)

// route decides where the request goes from the codes Microsoft returned.
func route(t *Ticket, groups []ingest.CodeGroup) {
	var olc, portal, delist511, auth515, busy500 int64
	var total int64
	for _, g := range groups {
		total += g.Count
		c := g.EnhancedCode
		switch {
		case enhancedIn(c, 507606, 507649):
			portal += g.Count
		case c == "5.7.511":
			delist511 += g.Count
		case c == "5.7.515":
			auth515 += g.Count
		case c == "4.7.500" && strings.Contains(strings.ToLower(g.Sample), "server busy"):
			busy500 += g.Count
			olc += g.Count
		case enhancedIn(c, 407500, 407699), enhancedIn(c, 507001, 507001), strings.Contains(g.Sample, "olc.protection.outlook.com"),
			strings.Contains(g.Sample, "weren't sent"), MicrosoftRuleID(g.Sample) != "":
			olc += g.Count
		}
	}
	var routes []Route
	if olc > 0 {
		routes = append(routes, Route{Channel: ChannelOutlookForm, Name: `Outlook.com "Sender Information for Outlook.com Delivery" form`, URL: olcFormURL,
			Why: fmt.Sprintf("%s deferrals or blocks from Outlook.com's consumer service (4.7.5xx-6xx rate limits, S/AS codes, block-list NDRs)", fmtCount(olc)),
			Steps: []string{"Fill in the form below field by field and submit it; you get an SRX ticket number by e-mail.",
				"Reply to that e-mail (do not open a new ticket) with the evidence block below.",
				"If the answer is 'not qualified for mitigation', reply with what changed and updated numbers."}})
	}
	if portal > 0 {
		routes = append(routes, Route{Channel: ChannelDelistPortal, Name: "Office 365 Anti-Spam IP Delist Portal", URL: delistPortal,
			Why: fmt.Sprintf("%s rejections with 5.7.606-649 (banned sending IP) from Microsoft 365 tenants", fmtCount(portal)),
			Steps: []string{"Enter the e-mail address that received the NDR and one IP from it: one address and one IP per visit.",
				"Click the confirmation link mailed to you, then Delist IP; it can take up to 24 hours."}})
	}
	if delist511 > 0 {
		routes = append(routes, Route{Channel: ChannelDelistEmail, Name: "delist@microsoft.com", URL: "mailto:delist@microsoft.com",
			Why:   fmt.Sprintf("%s rejections with 5.7.511 (banned sender): the portal cannot lift these", fmtCount(delist511)),
			Steps: []string{"Forward the full NDR (code and IP included) to delist@microsoft.com; Microsoft answers within 48 hours."}})
	}
	if auth515 > 0 {
		routes = append([]Route{{Channel: ChannelFixAuth, Name: "Fix authentication first",
			Why:   fmt.Sprintf("%s rejections with 5.7.515: the sending domain does not meet Outlook.com's authentication requirement (SPF and DKIM pass, DMARC at least p=none, aligned)", fmtCount(auth515)),
			Steps: []string{"Make SPF and DKIM pass and publish an aligned DMARC record; no ticket helps before that (senderscope check shows what fails)."}}}, routes...)
	}
	if busy500 > 0 && busy500*2 >= total && !hadBurst(t) {
		t.Notices = append(t.Notices, "Most deferrals are 451 4.7.500 'Server busy' with no unusual burst before them: this pattern has been a Microsoft-side incident before (EX680695, October 2023). Check Microsoft's service status and other senders' reports before changing your sending; ask support whether an incident is open.")
		routes = append([]Route{{Channel: ChannelProviderSide, Name: "Likely a Microsoft-side incident", Why: "4.7.500 'Server busy' across IPs without a preceding burst"}}, routes...)
	}
	if len(routes) == 0 {
		t.Route = Route{Channel: ChannelNone, Name: "Nothing to escalate", Why: "no deferrals or blocks from Microsoft in the data"}
		return
	}
	t.Route, t.OtherRoutes = routes[0], routes[1:]
}

// hadBurst reports whether any onset had a burst above its baseline.
func hadBurst(t *Ticket) bool {
	for _, o := range t.Evidence.Onsets {
		if o.Burst != nil && o.Burst.Factor >= 1.2 {
			return true
		}
	}
	return false
}

func form(t *Ticket, opts TicketOptions, domains []ingest.DomainCount) []FormField {
	c := opts.Contact
	ev := t.Evidence
	code, rule := "", ""
	if len(ev.Codes) > 0 {
		code, rule = ev.Codes[0].EnhancedCode, ev.Codes[0].RuleID
	}
	title := ""
	if ev.IncidentStart != nil && code != "" {
		kind := "Deferrals"
		if ev.Codes[0].Type == string(ingest.TypeBounced) {
			kind = "Blocks"
		}
		title = fmt.Sprintf("%s %s", kind, code)
		if rule != "" {
			title += " (" + rule + ")"
		}
		title += fmt.Sprintf(" on %d dedicated IPs since %s UTC: mitigation request", len(ev.IPs), ev.IncidentStart.Format("2006-01-02"))
		if !strings.EqualFold(c.ServerType, "dedicated") {
			title = strings.Replace(title, " dedicated IPs", " IPs", 1)
		}
	}
	domainTo := "other"
	for _, d := range domains {
		if v, ok := NormalizeChoice(d.Domain, DomainsTo[:4], nil); ok {
			domainTo = v
			break
		}
	}
	tz := c.TimeZone
	if tz == "" {
		tz = "(UTC) Coordinated Universal Time"
	}
	website := c.Website
	f := []FormField{
		{ID: "IssueTitle", Label: "Issue title", Value: title, Note: "practitioners name the mitigation type here"},
		{ID: "ContactName", Label: "Contact name", Value: c.Name},
		{ID: "DomainTo", Label: "What domain are you sending to", Value: domainTo, Choices: DomainsTo, Note: "the consumer domain with the most deferrals"},
		{ID: "ContactEmail", Label: "Contact email address", Value: c.Email, Note: "must receive mail from Microsoft: not a mailbox behind the blocked IPs"},
		{ID: "ddlTimezones", Label: "Time zone", Value: tz, Note: "every time in the evidence is UTC"},
		{ID: "DomainFrom", Label: "What domain are you sending from", Value: c.SendingDomain},
		{ID: "SelfDescription", Label: "How would you describe your company / yourself", Value: c.SelfDescription, Choices: SelfDescriptions},
		{ID: "WebsiteUrl", Label: "Website", Value: website},
		{ID: "IpAddresses", Label: "Outgoing IP addresses or ranges", Value: strings.Join(ev.IPs, "; "), Note: "separated by semicolons"},
		{ID: "ServerType", Label: "Do you have a dedicated or shared server/IP", Value: c.ServerType, Choices: ServerTypes},
		{ID: "ErrorMessages", Label: "Copy and paste all error messages", Value: strings.Join(t.ErrorMessages, "\n\n"), Note: "verbatim replies with Microsoft's server and timestamp trailers"},
	}
	for i := range f {
		f[i].Missing = strings.TrimSpace(f[i].Value) == ""
	}
	return f
}

func ask(t *Ticket, opts TicketOptions) string {
	ev := t.Evidence
	if ev.IncidentStart == nil || len(ev.IPs) == 0 {
		return ""
	}
	var b strings.Builder
	ips := strings.Join(ev.IPs, " and ")
	code := ""
	if len(ev.Codes) > 0 {
		code = ev.Codes[0].EnhancedCode
		if ev.Codes[0].RuleID != "" {
			code += " (" + ev.Codes[0].RuleID + ")"
		}
	}
	share := "every message"
	if ev.DeferralRate < 0.95 {
		share = fmt.Sprintf("%.0f%% of delivery attempts", ev.DeferralRate*100)
	}
	fmt.Fprintf(&b, "Since %s UTC %s from %s to Outlook.com has been deferred with %s", ev.IncidentStart.Format("2006-01-02 15:04"), share, ips, code)
	if len(ev.Onsets) > 0 && ev.Onsets[0].Burst != nil {
		bu := ev.Onsets[0].Burst
		fmt.Fprintf(&b, ", %s after a burst of %d messages to Outlook.com in one minute, our highest since %s", ev.Onsets[0].Lag, bu.Sends,
			func() string {
				if bu.HighestSince != nil {
					return bu.HighestSince.Format("2006-01-02")
				}
				return "the start of our records"
			}())
	}
	b.WriteString(". ")
	if len(opts.Remediation) > 0 {
		fmt.Fprintf(&b, "We have since %s. ", strings.Join(lowerFirst(opts.Remediation), "; "))
	}
	if ev.ProjectedVolume != "" {
		fmt.Fprintf(&b, "Our projected volume is %s. ", ev.ProjectedVolume)
	}
	fmt.Fprintf(&b, "Could you please review the reputation of %s and lift or ease the rate limit, so that the mail our users are waiting for is delivered? We are happy to provide anything else you need.", ips)
	return b.String()
}

func lowerFirst(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		s = strings.TrimSuffix(strings.TrimSpace(s), ".")
		if s != "" && !(len(s) > 1 && s[1] >= 'A' && s[1] <= 'Z') {
			s = strings.ToLower(s[:1]) + s[1:]
		}
		out[i] = s
	}
	return out
}
