// Package analyze is pure computation over stored events: provider knowledge
// (domains, MX suffixes, reply rules) as embedded data with a source for every
// row, spikes, rates, classification of SMTP replies, limiter simulation,
// shaping plans (a limit worked out into MTA settings), the warehouse query
// that computes spikes' minute counts elsewhere, and incident evidence. It
// never prints and never reads the clock.
package analyze
