package checks

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

type tag struct{ name, value string }

// parseTagList parses an RFC 6376 3.2 tag=value list. Tag names are
// case-sensitive, a repeated tag makes the list invalid, and folding
// whitespace around names and values is dropped.
func parseTagList(s string) ([]tag, error) {
	var out []tag
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ";") {
		if strings.Trim(part, " \t\r\n") == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		name = strings.Trim(name, " \t\r\n")
		if !ok {
			return nil, fmt.Errorf("tag %q has no \"=\"", strings.TrimSpace(part))
		}
		if name == "" || !(name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
			return nil, fmt.Errorf("bad tag name %q", name)
		}
		for i := 1; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return nil, fmt.Errorf("bad tag name %q", name)
			}
		}
		if seen[name] {
			return nil, fmt.Errorf("tag %q appears twice", name)
		}
		seen[name] = true
		out = append(out, tag{name, strings.Trim(value, " \t\r\n")})
	}
	return out, nil
}

// DKIMKeyRecord is a parsed DKIM public key record (RFC 6376 3.6.1, RFC 8463).
type DKIMKeyRecord struct {
	KeyType        string   `json:"key_type"` // rsa or ed25519
	Bits           int      `json:"bits,omitempty"`
	Revoked        bool     `json:"revoked,omitempty"` // empty p=
	Testing        bool     `json:"testing,omitempty"` // t=y
	StrictSubdom   bool     `json:"strict_subdomains,omitempty"`
	HashAlgorithms []string `json:"hash_algorithms,omitempty"` // h=, empty = any
	Services       []string `json:"services,omitempty"`        // s=, empty = any
	Notes          string   `json:"notes,omitempty"`
}

// ForEmail reports whether the key may sign mail (s= absent, "*" or "email").
func (k *DKIMKeyRecord) ForEmail() bool {
	if len(k.Services) == 0 {
		return true
	}
	for _, s := range k.Services {
		if s == "*" || s == "email" {
			return true
		}
	}
	return false
}

// SHA1Only reports whether h= allows nothing but sha1, which RFC 8301 forbids.
func (k *DKIMKeyRecord) SHA1Only() bool {
	if len(k.HashAlgorithms) == 0 {
		return false
	}
	for _, h := range k.HashAlgorithms {
		if h != "sha1" {
			return false
		}
	}
	return true
}

// ParseDKIMKey parses a key record. A revoked key (empty p=) is returned
// without error; anything a verifier must reject is an error.
func ParseDKIMKey(record string) (*DKIMKeyRecord, error) {
	tags, err := parseTagList(record)
	if err != nil {
		return nil, fmt.Errorf("dkim key: %w", err)
	}
	k := &DKIMKeyRecord{KeyType: "rsa"}
	var p *string
	for i, t := range tags {
		switch t.name {
		case "v":
			if i != 0 {
				return nil, errors.New("dkim key: v= must be the first tag")
			}
			if t.value != "DKIM1" {
				return nil, fmt.Errorf("dkim key: version %q is not DKIM1", t.value)
			}
		case "k":
			k.KeyType = strings.ToLower(t.value)
		case "p":
			v := t.value
			p = &v
		case "h":
			for _, h := range strings.Split(t.value, ":") {
				if h = strings.TrimSpace(h); h != "" {
					k.HashAlgorithms = append(k.HashAlgorithms, strings.ToLower(h))
				}
			}
		case "s":
			for _, s := range strings.Split(t.value, ":") {
				if s = strings.TrimSpace(s); s != "" {
					k.Services = append(k.Services, strings.ToLower(s))
				}
			}
		case "t":
			for _, f := range strings.Split(t.value, ":") {
				switch strings.TrimSpace(f) {
				case "y":
					k.Testing = true
				case "s":
					k.StrictSubdom = true
				}
			}
		case "n":
			k.Notes = t.value
		}
	}
	if k.KeyType != "rsa" && k.KeyType != "ed25519" {
		return nil, fmt.Errorf("dkim key: unknown key type k=%s", k.KeyType)
	}
	if p == nil {
		return nil, errors.New("dkim key: no p= tag")
	}
	data := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, *p)
	if data == "" {
		k.Revoked = true
		return k, nil
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("dkim key: p= is not base64: %w", err)
	}
	switch k.KeyType {
	case "rsa":
		pub, err := x509.ParsePKIXPublicKey(raw)
		if err != nil {
			// RFC 6376 erratum 3017: some publish a bare RSAPublicKey
			rsaPub, err2 := x509.ParsePKCS1PublicKey(raw)
			if err2 != nil {
				return nil, fmt.Errorf("dkim key: p= is not an RSA public key: %w", err)
			}
			pub = rsaPub
		}
		rsaPub, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("dkim key: k=rsa but p= holds a %T", pub)
		}
		k.Bits = rsaPub.N.BitLen()
	case "ed25519":
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("dkim key: ed25519 key of %d octets, want %d", len(raw), ed25519.PublicKeySize)
		}
		k.Bits = 256
	}
	return k, nil
}
