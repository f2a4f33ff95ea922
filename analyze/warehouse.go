package analyze

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/senderscope/senderscope/ingest"
)

// SQLDialect is a warehouse SQL dialect the counts query is written in.
type SQLDialect string

const (
	DialectPostgres   SQLDialect = "postgres"
	DialectBigQuery   SQLDialect = "bigquery"
	DialectClickHouse SQLDialect = "clickhouse"
)

// ParseSQLDialect validates --emit-sql.
func ParseSQLDialect(s string) (SQLDialect, error) {
	switch d := SQLDialect(strings.ToLower(strings.TrimSpace(s))); d {
	case DialectPostgres, DialectBigQuery, DialectClickHouse:
		return d, nil
	case "postgresql", "psql":
		return DialectPostgres, nil
	}
	return "", fmt.Errorf("--emit-sql %q: use postgres, bigquery or clickhouse", s)
}

// CountsQuery describes the user's table for the warehouse counts query.
type CountsQuery struct {
	Dialect      SQLDialect
	Provider     Provider // "" = every provider, named per row
	Table        string   // may be qualified: schema.table, project.dataset.table
	TimeCol      string   // a timestamp column
	RecipientCol string   // the recipient address
	IPCol        string   // optional: the sending IP
	AttemptCol   string   // optional: count only rows whose attempt is empty or at most 1
	StatusCol    string   // optional: count only rows whose status is a delivery outcome
}

// CountsSQL writes the query that computes, in the user's warehouse, the
// sends per minute, provider and sending IP that spikes reads: recipients
// are matched by the exact domain list (the lower-cased text after the last
// '@', without a trailing dot), never by a pattern. Its CSV output ingests
// as pre-aggregated counts.
func CountsSQL(q CountsQuery) (string, error) {
	d, err := dialectFor(q.Dialect)
	if err != nil {
		return "", err
	}
	if q.Table == "" || q.TimeCol == "" || q.RecipientCol == "" {
		return "", fmt.Errorf("emit-sql: --table, --time-col and --recipient-col are required")
	}
	if q.Provider == ProviderOther {
		return "", fmt.Errorf("emit-sql: \"other\" is every domain not listed; use --provider all, which names each row's provider")
	}
	table, err := d.table(q.Table)
	if err != nil {
		return "", err
	}
	col := func(name, flag string) (string, error) {
		if name == "" {
			return "", nil
		}
		c, err := d.ident(name)
		if err != nil {
			return "", fmt.Errorf("%s: %w", flag, err)
		}
		return "t." + c, nil
	}
	var tc, rc, ic, ac, sc string
	for _, x := range []struct {
		dst        *string
		name, flag string
	}{{&tc, q.TimeCol, "--time-col"}, {&rc, q.RecipientCol, "--recipient-col"}, {&ic, q.IPCol, "--ip-col"},
		{&ac, q.AttemptCol, "--attempt-col"}, {&sc, q.StatusCol, "--status-col"}} {
		if *x.dst, err = col(x.name, x.flag); err != nil {
			return "", err
		}
	}

	var b strings.Builder
	per := "minute and provider"
	if ic != "" {
		per = "minute, provider and sending IP"
	}
	b.WriteString("-- senderscope spikes --emit-sql " + string(q.Dialect) + ": sends per " + per + ",\n")
	b.WriteString("-- for senderscope ingest, which reads the CSV output as pre-aggregated counts.\n")
	b.WriteString("-- A recipient's domain is the lower-cased text after the last '@' without a trailing dot,\n")
	b.WriteString("-- matched whole against senderscope's domain list: olive.com is not live.com.\n")
	counted := "every row is one send"
	switch {
	case ac != "" && sc != "":
		counted = "rows with an outcome status (delivered, deferred, bounced) whose attempt is empty or at most 1"
	case ac != "":
		counted = "rows whose attempt is empty or at most 1 (first attempts)"
	case sc != "":
		counted = "rows with an outcome status (delivered, deferred, bounced)"
	}
	b.WriteString("-- Counted: " + counted + ".\n")
	b.WriteString(d.usage)

	// The inner query names each row's minute, domain and IP once; the
	// outer one filters by domain and counts.
	ipSel := ""
	if ic != "" {
		ipSel = ",\n         " + d.ipText(ic) + " AS ip"
	}
	fmt.Fprintf(&b, "SELECT s.minute,\n       %s AS provider", providerExpr(q.Provider))
	if ic != "" {
		b.WriteString(",\n       s.ip")
	}
	b.WriteString(",\n       count(*) AS count\nFROM (\n")
	fmt.Fprintf(&b, "  SELECT %s AS minute,\n         %s AS domain%s\n", d.minute(tc), d.domain(rc), ipSel)
	fmt.Fprintf(&b, "  FROM %s AS t", table)
	var where []string
	if ac != "" {
		where = append(where, fmt.Sprintf("(%s IS NULL OR %s <= 1)", ac, ac))
	}
	if sc != "" {
		words := ingest.DefaultStatusWords(ingest.TypeDelivered, ingest.TypeDeferred, ingest.TypeBounced)
		where = append(where, fmt.Sprintf("%s IN (%s)", d.lowerTrim(sc), sqlList(words, 6, "       ")))
	}
	if len(where) > 0 {
		b.WriteString("\n  WHERE " + strings.Join(where, "\n    AND "))
	}
	b.WriteString("\n) AS s\n")
	var domains []string
	for _, r := range DefaultProviders().Domains(q.Provider) {
		if r.Provider == ProviderOther {
			continue
		}
		if !plainDomain.MatchString(r.Domain) {
			return "", fmt.Errorf("emit-sql: domain %q in the embedded list is not a plain host name", r.Domain)
		}
		domains = append(domains, r.Domain)
	}
	if q.Provider != "" {
		fmt.Fprintf(&b, "WHERE s.domain IN (%s)\n", sqlList(domains, 6, "  "))
	}
	group := "s.minute"
	if q.Provider == "" {
		group += ", provider"
	}
	if ic != "" {
		group += ", s.ip"
	}
	fmt.Fprintf(&b, "GROUP BY %s\nORDER BY %s\n", group, group)
	return b.String(), nil
}

// plainDomain is what may appear inside a string literal unescaped.
var plainDomain = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)

// providerExpr names the provider: a constant for one, a CASE over every
// known provider's exact list otherwise.
func providerExpr(p Provider) string {
	if p != "" {
		return "'" + string(p) + "'"
	}
	var b strings.Builder
	b.WriteString("CASE")
	for _, kp := range KnownProviders {
		if kp == ProviderOther {
			continue
		}
		var ds []string
		for _, r := range DefaultProviders().Domains(kp) {
			ds = append(ds, r.Domain)
		}
		if len(ds) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n         WHEN s.domain IN (%s)\n         THEN '%s'", sqlList(ds, 6, "           "), kp)
	}
	b.WriteString("\n         ELSE 'other' END")
	return b.String()
}

// sqlList writes quoted literals, perLine to a line.
func sqlList(vals []string, perLine int, indent string) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteString(",")
			if i%perLine == 0 {
				b.WriteString("\n" + indent)
			} else {
				b.WriteString(" ")
			}
		}
		b.WriteString("'" + strings.ReplaceAll(v, "'", "''") + "'")
	}
	return b.String()
}

// dialect holds what differs between warehouses.
type dialect struct {
	name      SQLDialect
	ident     func(string) (string, error)
	table     func(string) (string, error)
	minute    func(col string) string
	domain    func(col string) string
	lowerTrim func(col string) string
	ipText    func(col string) string
	usage     string
}

func dialectFor(d SQLDialect) (*dialect, error) {
	dl, err := newDialect(d)
	if err != nil {
		return nil, err
	}
	if dl.table == nil {
		dl.table = dl.tableParts
	}
	return dl, nil
}

func newDialect(d SQLDialect) (*dialect, error) {
	switch d {
	case DialectPostgres:
		return &dialect{
			name: d,
			// Double quotes, doubled inside: any name is safe, and is
			// matched exactly as typed (unquoted names fold to lower case).
			ident: func(s string) (string, error) {
				if err := identOK(s); err != nil {
					return "", err
				}
				return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`, nil
			},
			minute: func(c string) string { return "date_trunc('minute', " + c + ")" },
			domain: func(c string) string {
				return "regexp_replace(lower(substring(trim(" + c + ") from '@([^@]*)$')), E'\\\\.$', '')"
			},
			lowerTrim: func(c string) string { return "lower(trim(" + c + "))" },
			// As stored: text prints as written, inet without its /32.
			ipText: func(c string) string { return c },
			usage: "-- The time column is a timestamp: with a zone (timestamptz) the minutes carry their offset;\n" +
				"-- without, they are local times: ingest them with --tz ZONE.\n" +
				"-- Run: psql -c \"COPY (<this query>) TO STDOUT CSV HEADER\" > counts.csv && senderscope ingest counts.csv\n",
		}, nil
	case DialectBigQuery:
		bq := func(s string) (string, error) {
			if err := identOK(s); err != nil {
				return "", err
			}
			if strings.ContainsAny(s, "`\\") {
				return "", fmt.Errorf("name %q: a backquote or backslash cannot be quoted safely for BigQuery", s)
			}
			return "`" + s + "`", nil
		}
		return &dialect{
			name:  d,
			ident: bq,
			// A whole project.dataset.table path may sit in one pair of backquotes.
			table: bq,
			minute: func(c string) string {
				return "FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', TIMESTAMP_TRUNC(" + c + ", MINUTE))"
			},
			domain: func(c string) string {
				return "REGEXP_REPLACE(LOWER(REGEXP_EXTRACT(TRIM(" + c + "), r'@([^@]*)$')), r'\\.$', '')"
			},
			lowerTrim: func(c string) string { return "LOWER(TRIM(" + c + "))" },
			ipText:    func(c string) string { return c },
			usage: "-- The time column is a TIMESTAMP; the minutes are written in UTC.\n" +
				"-- Run: bq query --use_legacy_sql=false --format=csv --max_rows=100000000 \"$(cat this.sql)\" > counts.csv\n" +
				"--      senderscope ingest counts.csv\n",
		}, nil
	case DialectClickHouse:
		ch := func(s string) (string, error) {
			if err := identOK(s); err != nil {
				return "", err
			}
			r := strings.NewReplacer(`\`, `\\`, "`", "\\`")
			return "`" + r.Replace(s) + "`", nil
		}
		return &dialect{
			name:  d,
			ident: ch,
			minute: func(c string) string {
				return "formatDateTime(toStartOfMinute(" + c + "), '%Y-%m-%dT%H:%i:%SZ', 'UTC')"
			},
			// ClickHouse string literals take backslash escapes: '\\.' is the regex \.
			domain: func(c string) string {
				return "replaceRegexpOne(lower(extract(trimBoth(" + c + "), '@([^@]*)$')), '\\\\.$', '')"
			},
			lowerTrim: func(c string) string { return "lower(trimBoth(" + c + "))" },
			ipText:    func(c string) string { return "toString(" + c + ")" },
			usage: "-- The time column is a DateTime or DateTime64; the minutes are written in UTC.\n" +
				"-- Run: clickhouse-client --query \"$(cat this.sql) FORMAT CSVWithNames\" > counts.csv\n" +
				"--      senderscope ingest counts.csv\n",
		}, nil
	}
	return nil, fmt.Errorf("emit-sql: unknown dialect %q (use postgres, bigquery or clickhouse)", d)
}

// tableParts quotes each dot-separated part of a qualified name.
func (d *dialect) tableParts(s string) (string, error) {
	var parts []string
	for _, p := range strings.Split(s, ".") {
		q, err := d.ident(p)
		if err != nil {
			return "", fmt.Errorf("--table: %w", err)
		}
		parts = append(parts, q)
	}
	return strings.Join(parts, "."), nil
}

func identOK(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty name")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("name %q has a control character", s)
		}
	}
	return nil
}
