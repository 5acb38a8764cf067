package redact

import "bytes"

// Finding a value fast in text. bytes.Index anchors its search on a
// value's first byte; a credential often starts with a common one ("s" of
// "sk_…", a lowercase letter), which ordinary text is full of. index
// anchors on the value's rarest byte instead (by the rough byte frequency
// of JSON and English text below) and checks each candidate in place. An
// input made of that byte (an upstream could send one) would make every
// position a candidate, so after too many failed checks it hands over to
// bytes.Index, which is linear.

// common lists bytes from the most to the least frequent in typical
// response bodies; bytes not listed rank as the rarest.
const common = " e\"taoinsr:,hld0c1u2m{}fp3g45w6y789b.v-_/kxjqzTSACEIRNOPLMDU\nBFGHKWVYXJQZ"

var rank = func() (r [256]uint8) {
	for i := range len(common) {
		r[common[i]] = uint8(len(common) - i)
	}
	return r
}()

// rarest returns the index of pat's least frequent byte.
func rarest(pat []byte) int {
	best := 0
	for i, c := range pat {
		if rank[c] < rank[pat[best]] {
			best = i
		}
	}
	return best
}

// index is bytes.Index(s, pat) anchored on pat[k].
func index(s, pat []byte, k int) int {
	c := pat[k]
	fails := 0
	for i := k; i < len(s); {
		j := bytes.IndexByte(s[i:], c)
		if j < 0 {
			return -1
		}
		i += j
		start := i - k
		if start+len(pat) > len(s) {
			return -1
		}
		if bytes.Equal(s[start:start+len(pat)], pat) {
			return start
		}
		i++
		if fails++; fails > 16+i>>6 { // many false starts: the byte is not rare here
			if r := bytes.Index(s[start+1:], pat); r >= 0 {
				return start + 1 + r
			}
			return -1
		}
	}
	return -1
}
