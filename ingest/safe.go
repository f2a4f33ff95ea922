package ingest

import "fmt"

// safely runs one record's parse. A panic there (a parser bug met by input
// nobody foresaw) becomes that record's reject reason instead of ending the
// run: the record is kept in rejects and the rest of the input is read.
func safely(parse func() string) (reason string) {
	defer func() {
		if r := recover(); r != nil {
			reason = fmt.Sprintf("internal error while parsing this record (%v): it is kept here; please report it", r)
		}
	}()
	return parse()
}
