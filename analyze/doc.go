// Package analyze is pure computation over stored events: provider knowledge
// (domains, MX suffixes, reply rules) as embedded data with a source for every
// row, spikes, rates, classification of SMTP replies, limiter simulation and
// incident evidence. It never prints and never reads the clock.
package analyze
