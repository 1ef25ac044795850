package tokenizer

import "unicode/utf8"

// sanitize returns s with every maximal ill-formed UTF-8 subpart replaced by
// one U+FFFD, as Python's bytes.decode("utf-8", "replace") does (Go's
// decoder instead yields one RuneError per byte, which would shift every
// later character offset). When s is valid it is returned as is and src is
// nil; otherwise src[i] is the input byte offset of output byte i, with
// src[len(out)] = len(s), so offsets can be reported against the caller's
// bytes.
func sanitize(s string, buf []byte, src []int) (out string, outBuf []byte, outSrc []int) {
	if utf8.ValidString(s) {
		return s, buf, nil
	}
	buf, src = buf[:0], src[:0]
	for i := 0; i < len(s); {
		n := wellFormedPrefix(s[i:])
		if n > 0 {
			for k := 0; k < n; k++ {
				src = append(src, i+k)
			}
			buf = append(buf, s[i:i+n]...)
			i += n
			continue
		}
		bad := illFormedSubpart(s[i:])
		for k := 0; k < 3; k++ { // U+FFFD is 3 bytes, all mapped to the bad run's start
			src = append(src, i)
		}
		buf = append(buf, "\uFFFD"...)
		i += bad
	}
	src = append(src, len(s))
	return string(buf), buf, src
}

// wellFormedPrefix returns the length of the well-formed character starting
// s, or 0 when s starts with an ill-formed sequence.
func wellFormedPrefix(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n <= 1 {
		return 0
	}
	return n
}

// illFormedSubpart returns the length of the maximal subpart of an ill-formed
// sequence at the start of s (Unicode §3.9, Table 3-7): a lead byte followed
// by as many continuation bytes as could still begin a well-formed sequence.
func illFormedSubpart(s string) int {
	b := s[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case b >= 0xC2 && b <= 0xDF:
		need = 1
	case b == 0xE0:
		need, lo = 2, 0xA0
	case b >= 0xE1 && b <= 0xEC, b == 0xEE, b == 0xEF:
		need = 2
	case b == 0xED:
		need, hi = 2, 0x9F
	case b == 0xF0:
		need, lo = 3, 0x90
	case b >= 0xF1 && b <= 0xF3:
		need = 3
	case b == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	i := 1
	for ; i <= need && i < len(s); i++ {
		if s[i] < lo || s[i] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return i
}
