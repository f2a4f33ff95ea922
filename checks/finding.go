package checks

import (
	"fmt"
	"slices"
	"strings"
)

// Severity grades a finding. Only "fail" makes the command exit non-zero.
type Severity string

// Severities, from best to worst.
const (
	SeverityOK   Severity = "ok"
	SeverityInfo Severity = "info"
	SeverityWarn Severity = "warn"
	SeverityFail Severity = "fail"
)

// Rank orders severities: ok < info < warn < fail.
func (s Severity) Rank() int {
	switch s {
	case SeverityOK:
		return 0
	case SeverityInfo:
		return 1
	case SeverityWarn:
		return 2
	case SeverityFail:
		return 3
	}
	return -1
}

// CheckName names one group of checks.
type CheckName string

// The checks Run knows.
const (
	CheckSPF   CheckName = "spf"
	CheckDKIM  CheckName = "dkim"
	CheckDMARC CheckName = "dmarc"
	CheckRDNS  CheckName = "rdns"
	CheckDNSBL CheckName = "dnsbl"
	CheckMX    CheckName = "mx"
)

// AllChecks lists every check in the order reports show them.
func AllChecks() []CheckName {
	return []CheckName{CheckSPF, CheckDKIM, CheckDMARC, CheckRDNS, CheckDNSBL, CheckMX}
}

// ParseCheckName accepts a check name as typed on the command line.
func ParseCheckName(s string) (CheckName, error) {
	c := CheckName(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(AllChecks(), c) {
		return c, nil
	}
	names := make([]string, 0, 6)
	for _, n := range AllChecks() {
		names = append(names, string(n))
	}
	return "", fmt.Errorf("check %q: want one of %s", s, strings.Join(names, ", "))
}

// Finding is one result of a check: a stable ID (e.g.
// "spf.too_many_lookups"), a severity, what it is about, a one-line
// message and the DNS evidence behind it. A finding is a result, never a Go
// error: a DNS timeout is a finding too.
type Finding struct {
	ID       string    `json:"id"`
	Check    CheckName `json:"check"`
	Severity Severity  `json:"severity"`
	Subject  string    `json:"subject"`
	Message  string    `json:"message"`
	Evidence []string  `json:"evidence,omitempty"`
}

// findings accumulates findings of one check.
type findings struct {
	check CheckName
	list  []Finding
}

func (f *findings) add(id string, sev Severity, subject, format string, args ...any) *Finding {
	f.list = append(f.list, Finding{
		ID: id, Check: f.check, Severity: sev, Subject: subject,
		Message: fmt.Sprintf(format, args...),
	})
	return &f.list[len(f.list)-1]
}

// with attaches evidence, dropping duplicates but keeping order.
func (fd *Finding) with(evidence ...string) *Finding {
	for _, e := range evidence {
		if e != "" && !slices.Contains(fd.Evidence, e) {
			fd.Evidence = append(fd.Evidence, e)
		}
	}
	return fd
}

// Worst returns the highest severity among fs, "ok" when fs is empty.
func Worst(fs []Finding) Severity {
	w := SeverityOK
	for _, f := range fs {
		if f.Severity.Rank() > w.Rank() {
			w = f.Severity
		}
	}
	return w
}
