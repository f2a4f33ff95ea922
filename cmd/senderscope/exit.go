package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/senderscope/senderscope/ingest"
)

// Exit codes. They are part of the interface: scripts test them.
const (
	exitOK          = 0   // success
	exitFindings    = 1   // the command ran and found a failing result (e.g. a check failed)
	exitUsage       = 2   // bad flags or arguments
	exitInput       = 3   // an input could not be read or understood
	exitDatabase    = 4   // the database could not be opened, was busy, or is damaged
	exitInterrupted = 130 // interrupted (Ctrl-C, SIGTERM); what was done is committed
	exitInternal    = 70  // a bug: please report it
)

const exitCodesHelp = `Exit codes:
  0    success
  1    the command ran and found a failing result (a failing check)
  2    usage error: bad flags or arguments
  3    input error: a file could not be read, matched no format, or lacks needed columns
  4    database error: cannot open, busy past the timeout, or damaged
  70   internal error (a bug: please report it)
  130  interrupted; what was done before is committed and the run is marked interrupted`

type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErr(err error) error { return &usageError{err} }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

type dbError struct{ err error }

func (e *dbError) Error() string { return e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// errFindings signals exit code 1 after the result was printed.
var errFindings = errors.New("failing findings")

// exitCode maps an error to the documented exit code and prints it.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errFindings) {
		return exitFindings
	}
	var ue *usageError
	var ie *inputError
	var de *dbError
	var inErr *ingest.InputError
	code := exitInternal
	switch {
	case errors.As(err, &ue):
		code = exitUsage
	case errors.Is(err, ingest.ErrInterrupted), errors.Is(err, context.Canceled):
		code = exitInterrupted
	case errors.Is(err, ingest.ErrBusy), errors.As(err, &de):
		code = exitDatabase
	case errors.As(err, &ie), errors.As(err, &inErr):
		code = exitInput
	}
	fmt.Fprintf(stderr, "senderscope: %v\n", err)
	if code == exitUsage {
		fmt.Fprintln(stderr, "Run 'senderscope --help' for usage.")
	}
	return code
}
