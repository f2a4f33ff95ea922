package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/rogpeppe/go-internal/testscript"
	_ "modernc.org/sqlite" // the dbquery test command reads the database directly
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"senderscope": func() {
			os.Exit(run(context.Background(), newApp(), os.Args[1:]))
		},
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("..", "..", "testdata", "script"),
		Setup: func(env *testscript.Env) error {
			root, err := filepath.Abs(filepath.Join("..", ".."))
			if err != nil {
				return err
			}
			env.Setenv("REPO", root)
			env.Setenv("SENDERSCOPE_DB", filepath.Join(env.WorkDir, "senderscope.db"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"gzip":    cmdGzip,
			"zstd":    cmdZstd,
			"chtime":  cmdChtime,
			"dbquery": cmdDBQuery,
			"zipfile": cmdZipFile,
		},
	})
}

// cmdGzip compresses a file: gzip SRC DST.
func cmdGzip(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: gzip SRC DST")
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(ts.ReadFile(args[0])))
	zw.Close()
	if err := os.WriteFile(ts.MkAbs(args[1]), b.Bytes(), 0o644); err != nil {
		ts.Fatalf("gzip: %v", err)
	}
}

// cmdZstd compresses a file as KumoMTA writes its log segments: zstd SRC DST.
func cmdZstd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: zstd SRC DST")
	}
	var b bytes.Buffer
	zw, err := zstd.NewWriter(&b)
	if err != nil {
		ts.Fatalf("zstd: %v", err)
	}
	zw.Write([]byte(ts.ReadFile(args[0])))
	if err := zw.Close(); err != nil {
		ts.Fatalf("zstd: %v", err)
	}
	if err := os.WriteFile(ts.MkAbs(args[1]), b.Bytes(), 0o644); err != nil {
		ts.Fatalf("zstd: %v", err)
	}
}

// cmdChtime sets a file's modification time: chtime FILE RFC3339-TIME.
// Syslog files without years take theirs from it.
func cmdChtime(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: chtime FILE TIME")
	}
	t, err := time.Parse(time.RFC3339, args[1])
	if err != nil {
		ts.Fatalf("chtime: %v", err)
	}
	if err := os.Chtimes(ts.MkAbs(args[0]), t, t); err != nil {
		ts.Fatalf("chtime: %v", err)
	}
}

// cmdZipFile writes a zip archive with one member: zipfile ZIP MEMBER SRC.
func cmdZipFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: zipfile ZIP MEMBER SRC")
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(args[1])
	if err != nil {
		ts.Fatalf("zipfile: %v", err)
	}
	w.Write([]byte(ts.ReadFile(args[2])))
	zw.Close()
	if err := os.WriteFile(ts.MkAbs(args[0]), b.Bytes(), 0o644); err != nil {
		ts.Fatalf("zipfile: %v", err)
	}
}

// cmdDBQuery runs SQL against a database and writes the rows to stdout,
// tab-separated: dbquery DB SQL.
func cmdDBQuery(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: dbquery DB SQL")
	}
	db, err := sql.Open("sqlite", "file:"+ts.MkAbs(args[0])+"?mode=ro")
	if err != nil {
		ts.Fatalf("dbquery: %v", err)
	}
	defer db.Close()
	rows, err := db.Query(args[1])
	if err != nil {
		if neg {
			return
		}
		ts.Fatalf("dbquery: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			ts.Fatalf("dbquery: %v", err)
		}
		for i, v := range vals {
			if i > 0 {
				out.WriteByte('\t')
			}
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			if v == nil {
				v = "NULL"
			}
			fmt.Fprint(&out, v)
		}
		out.WriteByte('\n')
	}
	ts.Stdout().Write([]byte(out.String()))
}
