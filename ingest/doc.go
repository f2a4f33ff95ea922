// Package ingest owns the normalized Event type, one parser per source format,
// format detection, and the SQLite store (schema migrations embedded as .sql
// files, applied in order and recorded). It is the only package that imports the
// SQLite driver.
package ingest
