// Command gencsv writes N rows of a psql COPY ... CSV HEADER export of a
// notifications table, for benchmarks (see ingest/benchdata). The output is
// deterministic.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/senderscope/senderscope/ingest/benchdata"
)

func main() {
	n := flag.Int("rows", 1_000_000, "rows to write")
	flag.Parse()
	if err := benchdata.WriteExport(os.Stdout, *n); err != nil {
		fmt.Fprintln(os.Stderr, "gencsv:", err)
		os.Exit(1)
	}
}
