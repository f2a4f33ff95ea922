// Package example generates the bundled example incident: the send history
// of a sender (example.com, two dedicated IPs, 203.0.113.7 and 203.0.113.10)
// whose mail to Outlook.com is deferred with "451 4.7.650 ... rate limited due
// to IP reputation (S775)" for about 60 hours after a newsletter batch put 53
// Outlook.com recipients into one minute. It owns only this data set: the
// history is written as the application's own table (notifications) exported
// with psql -c "COPY (SELECT ...) TO STDOUT CSV HEADER", which is what the
// README's first command runs the whole product on.
//
// Write streams the canonical history from 2025-11-17 to 2026-03-01
// (about 1.37 million rows, 400 MB) or a slice of it; Facts holds its ground
// truth (spike minutes and counts, first deferral per IP, block and recovery,
// row counts) so that tests assert against it instead of repeating numbers.
//
// The output is the same bytes on every run and platform: one PCG stream
// (math/rand/v2) with a fixed seed drives every decision in time order, all
// arithmetic is on integers (no floating point, whose fused operations differ
// between CPUs), nothing iterates a map, and nothing reads the clock. Row text
// is rendered on several goroutines from per-row seeds, so scheduling cannot
// change it either. Memory stays bounded (about 70 MB) whatever the range.
//
// The package imports only the standard library.
package example
