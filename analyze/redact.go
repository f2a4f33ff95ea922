package analyze

import "regexp"

// addressRe matches e-mail addresses in free text, including those in angle
// brackets and SMTP paths.
var addressRe = regexp.MustCompile(`[A-Za-z0-9!#$%&'*+/=?^_{|}~.-]+@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)`)

// RedactAddresses replaces the local part of every e-mail address in s, so
// text meant for a vendor's form or a report carries no customer address.
// The domain stays: which provider rejected what is the evidence.
func RedactAddresses(s string) string {
	return addressRe.ReplaceAllString(s, "[redacted]@$1")
}
