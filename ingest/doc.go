// Package ingest owns the normalized Event type, one parser per source format,
// format detection, and the SQLite store (schema migrations embedded as .sql
// files, applied in order and recorded). It is the only package that imports
// SQLite: the database/sql driver for reads, and the C API of the same
// library (sqlraw.go) for the writer and its checkpointer.
//
// An ingest runs a pipeline on two cores: a goroutine parses an input into
// batches of 4,096 events and sums each batch per minute; the writer stores
// the batches in large transactions with multi-row inserts, keeping the
// per-minute totals in the same transactions; a checkpointer copies
// committed pages from the write-ahead log into the database file beside it.
package ingest
