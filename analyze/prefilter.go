package analyze

import (
	"regexp/syntax"
	"strings"
)

// Running ~170 regular expressions over every reply the memo has not seen
// costs hundreds of microseconds. Most patterns need one of a few literal
// texts to match at all, so the classifier first finds, in a single
// Aho-Corasick pass over the reply, which of those literals occur, and only
// runs the expressions of rules whose literals were seen.

// requiredLiterals returns lowercase texts of which every match of re
// contains at least one, or nil when no such set can be derived.
func requiredLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{strings.ToLower(string(re.Rune))}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		var best []string
		bestLen := 0
		for _, sub := range re.Sub {
			lits := requiredLiterals(sub)
			if lits == nil {
				continue
			}
			if n := shortest(lits); n > bestLen {
				best, bestLen = lits, n
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			lits := requiredLiterals(sub)
			if lits == nil {
				return nil
			}
			all = append(all, lits...)
		}
		return all
	}
	return nil
}

func shortest(ss []string) int {
	n := -1
	for _, s := range ss {
		if n < 0 || len(s) < n {
			n = len(s)
		}
	}
	return n
}

// patternLiterals parses a rule pattern and returns its required literals,
// or nil when the pattern must always be run.
func patternLiterals(pattern string) []string {
	re, err := syntax.Parse("(?i)"+pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	lits := requiredLiterals(re.Simplify())
	for _, l := range lits {
		if l == "" {
			return nil
		}
	}
	return lits
}

// literalSet is an Aho-Corasick automaton over byte strings: one pass over a
// text reports which of the literals occur in it.
type literalSet struct {
	next [][256]int32 // goto function completed with failure transitions
	out  [][]int32    // literal ids ending at each state, failure outputs included
	n    int          // number of literals
}

func newLiteralSet(lits []string) *literalSet {
	a := &literalSet{next: make([][256]int32, 1), out: make([][]int32, 1), n: len(lits)}
	for id, lit := range lits {
		s := int32(0)
		for i := 0; i < len(lit); i++ {
			c := lit[i]
			if a.next[s][c] == 0 {
				a.next = append(a.next, [256]int32{})
				a.out = append(a.out, nil)
				a.next[s][c] = int32(len(a.next) - 1)
			}
			s = a.next[s][c]
		}
		a.out[s] = append(a.out[s], int32(id))
	}
	// Breadth-first: complete missing transitions through failure links.
	fail := make([]int32, len(a.next))
	queue := make([]int32, 0, len(a.next))
	for c := 0; c < 256; c++ {
		if s := a.next[0][c]; s != 0 {
			queue = append(queue, s)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		a.out[s] = append(a.out[s], a.out[fail[s]]...)
		for c := 0; c < 256; c++ {
			t := a.next[s][c]
			if t == 0 {
				a.next[s][c] = a.next[fail[s]][c]
				continue
			}
			fail[t] = a.next[fail[s]][c]
			queue = append(queue, t)
		}
	}
	return a
}

// scan marks in seen (len n) every literal that occurs in text.
func (a *literalSet) scan(text string, seen []bool) {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		s = a.next[s][text[i]]
		for _, id := range a.out[s] {
			seen[id] = true
		}
	}
}
