package example

import _ "embed"

// Zone is the DNS of the example's sender (RFC 1035 zone text): SPF through
// the ESP, a 2048-bit DKIM key at s1, DMARC p=none, forward-confirmed PTRs for
// both IPs, MX for the sender and for hotmail.com/outlook.com, and each
// default block list's health-check entry. investigate answers the example's
// DNS checks from it, offline.
//
//go:embed example.com.zone
var Zone string
