// Package report renders results: tables (go-pretty), JSON, CSV, Markdown, the
// ticket template and charts. It is the only package that imports go-pretty.
package report
