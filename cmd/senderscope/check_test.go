package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestCheckScripts runs testdata/script/check/*.txtar. Each script's
// dns/*.zone files are served by a real DNS server on 127.0.0.1 whose
// address is $DNS; $SILENT_DNS is a UDP socket that never answers.
func TestCheckScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("..", "..", "testdata", "script", "check"),
		Setup: func(env *testscript.Env) error {
			addr, stop, err := serveZones(filepath.Join(env.WorkDir, "dns"))
			if err != nil {
				return err
			}
			env.Defer(stop)
			env.Setenv("DNS", addr)
			silent, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			env.Defer(func() { silent.Close() })
			env.Setenv("SILENT_DNS", silent.LocalAddr().String())
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"exitcode": cmdExitCode},
	})
}

// cmdExitCode runs a command and checks its exit status: exitcode N CMD ARGS...
// (testscript's "! exec" accepts any failure; the exit codes are interface).
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("exitcode: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// serveZones answers authoritatively from every zone file in dir, over UDP
// and TCP on one port, following CNAMEs inside the data.
func serveZones(dir string) (string, func(), error) {
	data := map[string][]dns.RR{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.zone"))
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return "", nil, err
		}
		zp := dns.NewZoneParser(f, ".", path)
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			k := strings.ToLower(rr.Header().Name)
			data[k] = append(data[k], rr)
		}
		f.Close()
		if err := zp.Err(); err != nil {
			return "", nil, err
		}
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative, m.RecursionAvailable = true, true
		q := r.Question[0]
		name := strings.ToLower(q.Name)
		for hops := 0; hops < 8; hops++ {
			rrs, ok := data[name]
			if !ok {
				if len(m.Answer) == 0 {
					m.Rcode = dns.RcodeNameError
				}
				break
			}
			var next string
			for _, rr := range rrs {
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, rr)
				} else if cn, ok := rr.(*dns.CNAME); ok && q.Qtype != dns.TypeCNAME {
					m.Answer = append(m.Answer, rr)
					next = strings.ToLower(cn.Target)
				}
			}
			if next == "" {
				break
			}
			name = next
		}
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			size := dns.MinMsgSize
			if opt := r.IsEdns0(); opt != nil {
				size = int(opt.UDPSize())
			}
			m.Truncate(size)
		}
		_ = w.WriteMsg(m)
	})
	var udp net.PacketConn
	var tcp net.Listener
	var err error
	for range 20 {
		if udp, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			return "", nil, err
		}
		if tcp, err = net.Listen("tcp", udp.LocalAddr().String()); err == nil {
			break
		}
		udp.Close()
	}
	if err != nil {
		return "", nil, err
	}
	us := &dns.Server{PacketConn: udp, Handler: handler}
	ts := &dns.Server{Listener: tcp, Handler: handler}
	started := make(chan struct{}, 2)
	us.NotifyStartedFunc = func() { started <- struct{}{} }
	ts.NotifyStartedFunc = func() { started <- struct{}{} }
	go us.ActivateAndServe()
	go ts.ActivateAndServe()
	<-started
	<-started
	return udp.LocalAddr().String(), func() { us.Shutdown(); ts.Shutdown() }, nil
}
