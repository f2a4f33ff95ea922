//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pgServer is a throwaway PostgreSQL cluster listening only on a unix
// socket in its own directory.
type pgServer struct {
	bin, dir, data string
	cred           *syscall.Credential // set when running as root: postgres refuses root
}

// findPostgres returns the bin directory of the newest PostgreSQL found:
// Debian's /usr/lib/postgresql/*/bin, else initdb on the PATH.
func findPostgres() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bin := findPostgres()
	if bin == "" && os.Getenv("SENDERSCOPE_REQUIRE_POSTGRES") != "" {
		t.Fatal("PostgreSQL not found, and SENDERSCOPE_REQUIRE_POSTGRES is set (.ci/run installs it)")
	}
	if bin == "" {
		t.Skip("PostgreSQL not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): " +
			"install it (apt-get install postgresql) to test the emitted Postgres query against a real server")
	}
	// A short path: the socket path must fit in 107 bytes.
	dir, err := os.MkdirTemp("", "sspg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &pgServer{bin: bin, dir: dir, data: filepath.Join(dir, "data")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and PostgreSQL refuses to run as root, but there is no postgres user to run it as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s.run(t, nil, "initdb", "-D", s.data, "-U", "senderscope", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
	s.run(t, nil, "pg_ctl", "start", "-w", "-t", "60", "-D", s.data, "-l", filepath.Join(dir, "log"),
		"-o", "-k "+dir+" -c listen_addresses= -p 5432 -c fsync=off")
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(s.bin, "pg_ctl"), "stop", "-m", "immediate", "-D", s.data)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
		cmd.Dir = s.dir
		cmd.Run()
	})
	return s
}

// run runs a server program as the cluster's owner.
func (s *pgServer) run(t *testing.T, env []string, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, prog), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		t.Fatalf("%s %s: %v\n%s\n%s", prog, strings.Join(args, " "), err, out, log)
	}
}

// psql runs SQL with stdin, in a session time zone, and returns stdout.
func (s *pgServer) psql(t *testing.T, tz, sql string, stdin []byte) []byte {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", s.dir, "-p", "5432",
		"-U", "senderscope", "-d", "postgres", "-c", sql)
	cmd.Env = append(os.Environ(), "PGTZ="+tz)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("psql %s: %v\n%s", firstLine(sql), err, errb.String())
	}
	return out.Bytes()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// TestEmitSQLPostgres loads the generated history into a real PostgreSQL
// server, runs the query spikes --emit-sql postgres prints, ingests its CSV
// as counts, and checks that the spike table is the one computed from the
// same rows ingested as events.
func TestEmitSQLPostgres(t *testing.T) {
	pg := startPostgres(t)
	d := genSpikeData()
	// Opens are kept as events but are not sends: the status filter must
	// leave them out, as ingest does.
	events := d.eventsCSV()
	var extra strings.Builder
	for i, r := range d.rows {
		if i%7 == 0 && isMicrosoft(r.domain) {
			fmt.Fprintf(&extra, "%s,%s,open,%s,,%s-open\n", r.at.Add(3*time.Second).UTC().Format("2006-01-02T15:04:05.000Z"), r.email, r.ip, r.msgID)
		}
	}
	csv := events + extra.String()

	pg.psql(t, "UTC", `CREATE TABLE "Notifications" (id serial, created_at timestamptz NOT NULL, email text NOT NULL,
		status text NOT NULL, ip inet, attempt int, message_id text)`, nil)
	// Zone-less times are New York time, as ingest --tz America/New_York reads them.
	pg.psql(t, "America/New_York", `COPY "Notifications" (created_at, email, status, ip, attempt, message_id) FROM STDIN WITH (FORMAT csv, HEADER true)`, []byte(csv))

	query := runOK(t, nil, "spikes", "--emit-sql", "postgres", "--provider", "microsoft", "--table", "public.Notifications",
		"--time-col", "created_at", "--recipient-col", "email", "--ip-col", "ip", "--attempt-col", "attempt", "--status-col", "status")
	if strings.Contains(query, "~") || strings.Contains(strings.ToLower(query), " like ") {
		t.Errorf("the query matches by pattern:\n%s", query)
	}
	// Exported in a +05:30 session: the minutes carry that offset.
	counts := pg.psql(t, "Asia/Kolkata", "COPY ("+query+") TO STDOUT WITH CSV HEADER", nil)
	if !bytes.HasPrefix(counts, []byte("minute,provider,ip,count\n")) || !bytes.Contains(counts, []byte("+05:30,microsoft,")) {
		t.Fatalf("unexpected counts CSV:\n%.400s", counts)
	}

	dir := t.TempDir()
	evDB, cntDB := filepath.Join(dir, "events.db"), filepath.Join(dir, "counts.db")
	runOK(t, strings.NewReader(csv), "--db", evDB, "ingest", "--no-progress", "--tz", "America/New_York", "-")
	out := runOK(t, bytes.NewReader(counts), "--db", cntDB, "ingest", "--no-progress", "-")
	if !strings.Contains(out, "pre-aggregated counts") {
		t.Fatalf("the query's CSV was not read as counts:\n%s", out)
	}

	for _, by := range []string{"ip", "total"} {
		fromEvents := spikesJSON(t, "--db", evDB, "spikes", "--by", by, "--top", "0")
		fromCounts := spikesJSON(t, "--db", cntDB, "spikes", "--by", by, "--top", "0")
		if len(fromEvents.Spikes) < 1000 || len(fromEvents.Spikes) != len(fromCounts.Spikes) {
			t.Fatalf("--by %s: %d windows from events, %d from the warehouse counts", by, len(fromEvents.Spikes), len(fromCounts.Spikes))
		}
		for i, e := range fromEvents.Spikes {
			c := fromCounts.Spikes[i]
			same := e.Start.Equal(c.Start) && e.IP == c.IP && e.Sends == c.Sends && e.Baseline == c.Baseline &&
				e.HighestEver == c.HighestEver && e.HighestSinceSends == c.HighestSinceSends &&
				(e.HighestSince == nil) == (c.HighestSince == nil) && (e.HighestSince == nil || e.HighestSince.Equal(*c.HighestSince))
			if !same {
				t.Fatalf("--by %s, rank %d: events %s %s %d (since %v), counts %s %s %d (since %v)", by, i+1,
					e.Start, e.IP, e.Sends, e.HighestSince, c.Start, c.IP, c.Sends, c.HighestSince)
			}
			// Counts carry no send times: the sliding peak needs events.
			if c.Peak60s != -1 || e.Peak60s < e.Sends {
				t.Fatalf("--by %s, rank %d: peak %d from counts, %d from events (%d sends)", by, i+1, c.Peak60s, e.Peak60s, e.Sends)
			}
		}
	}
	// The same table, as a person reads it, apart from the peak column.
	tableOf := func(db string) string {
		var kept []string
		for _, l := range strings.Split(runOK(t, nil, "--db", db, "spikes", "--by", "total", "--top", "15"), "\n") {
			if f := strings.Split(l, "|"); len(f) == 5 {
				kept = append(kept, f[0]+f[1]+f[3]+f[4])
			}
		}
		return strings.Join(kept, "\n")
	}
	if a, b := tableOf(evDB), tableOf(cntDB); a != b || len(a) == 0 {
		t.Errorf("spike tables differ:\nfrom events:\n%s\nfrom warehouse counts:\n%s", a, b)
	}

	// Without the status filter the opens would be counted: the filters matter.
	loose := runOK(t, nil, "spikes", "--emit-sql", "postgres", "--table", "Notifications", "--time-col", "created_at",
		"--recipient-col", "email", "--ip-col", "ip", "--attempt-col", "attempt")
	looseCounts := pg.psql(t, "UTC", "COPY ("+loose+") TO STDOUT WITH CSV HEADER", nil)
	if sumCounts(t, looseCounts) <= sumCounts(t, counts) {
		t.Errorf("without --status-col the query counts %d, with it %d: the opens should add to the first", sumCounts(t, looseCounts), sumCounts(t, counts))
	}
}

func sumCounts(t *testing.T, csv []byte) int64 {
	var n int64
	for _, l := range strings.Split(strings.TrimSpace(string(csv)), "\n")[1:] {
		f := strings.Split(l, ",")
		k, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			t.Fatalf("count in %q: %v", l, err)
		}
		n += k
	}
	return n
}
