package example

import (
	"math/bits"
	"math/rand/v2"
)

// The seed is part of the data set's identity: changing it changes every byte.
const (
	seedHi = 0x73656e6465727363 // "senderscope"
	seedLo = 0x0000020260224194 // the burst: 2026-02-24 19:40
)

// source draws only raw 64-bit words from PCG and derives everything else with
// integer arithmetic. PCG's output is specified, while Rand's helper methods
// and floating point (fused multiply-add on some CPUs) are not guaranteed to
// give the same results on every platform and Go release.
type source struct{ pcg rand.PCG }

func newSource() *source {
	s := &source{}
	s.pcg.Seed(seedHi, seedLo)
	return s
}

// reseed restarts s from a 64-bit key (a row id, a message's seed): the
// renderers draw each row's random text from its own key, so rows can be
// rendered in any order, on any goroutine, with the same bytes.
func (s *source) reseed(key uint64) {
	s.pcg.Seed(splitmix(key), splitmix(key^seedLo))
}

// splitmix is SplitMix64's finalizer: nearby keys give unrelated seeds.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func (s *source) u64() uint64 { return s.pcg.Uint64() }

// intn returns a uniform integer in [0, n), n > 0 (Lemire's method).
func (s *source) intn(n int64) int64 {
	un := uint64(n)
	hi, lo := bits.Mul64(s.u64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(s.u64(), un)
		}
	}
	return int64(hi)
}

// between returns a uniform integer in [lo, hi).
func (s *source) between(lo, hi int64) int64 { return lo + s.intn(hi-lo) }

// chance reports true with probability ppm parts per million.
func (s *source) chance(ppm int64) bool { return s.intn(1_000_000) < ppm }

// pick returns an index drawn with the given cumulative weights.
func (s *source) pick(cum []int32) int {
	x := int32(s.intn(int64(cum[len(cum)-1])))
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// noise returns an approximately normal integer with mean 0 and standard
// deviation sd (Irwin–Hall sum of 12 uniforms), in integers only.
func (s *source) noise(sd int64) int64 {
	var sum int64
	for range 12 {
		sum += s.intn(1 << 16)
	}
	return (sum - 6<<16) * sd >> 16
}

const (
	hexUpper = "0123456789ABCDEF"
	hexLower = "0123456789abcdef"
	alnum    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	lower    = "abcdefghijklmnopqrstuvwxyz"
	digits   = "0123456789"
)

// appendRand appends n characters drawn uniformly from set, taking several
// from each 64-bit word: the reply texts are full of random ids and this is
// the renderers' hot path. set has at most 64 characters.
func (s *source) appendRand(b []byte, set string, n int) []byte {
	size := uint64(len(set))
	width := uint(bits.Len64(size - 1))
	mask := uint64(1)<<width - 1
	perWord := 64 / width
	for n > 0 {
		word := s.u64()
		for k := uint(0); k < perWord && n > 0; k++ {
			if c := word & mask; c < size { // rejection keeps the draw unbiased
				b = append(b, set[c])
				n--
			}
			word >>= width
		}
	}
	return b
}
