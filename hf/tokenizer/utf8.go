package tokenizer

import (
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/chars"
)

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
		bad := chars.IllFormedSubpart(s[i:])
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
