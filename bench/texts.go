package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

var (
	subjects   = []string{"The movie", "This course", "My new phone", "The service", "Our hotel room", "The food", "This library", "The concert", "Her latest novel", "The update", "The battery", "Customer support", "The soundtrack", "This recipe", "The second season"}
	verbs      = []string{"was", "is", "felt", "seemed", "turned out to be", "has been", "looks", "became", "sounds"}
	adjectives = []string{"amazing", "terrible", "boring", "wonderful", "disappointing", "fine", "awful", "brilliant", "mediocre", "surprisingly good", "a complete waste of time", "worth every penny", "overpriced", "unforgettable", "painfully slow"}
	tails      = []string{"!", ".", "...", ", I loved it.", ", to be honest.", " and I would not recommend it.", " compared to what we expected.", " despite the reviews.", ", which nobody mentioned."}
)

func sentence(r *rand.Rand) string {
	return subjects[r.IntN(len(subjects))] + " " + verbs[r.IntN(len(verbs))] + " " + adjectives[r.IntN(len(adjectives))] + tails[r.IntN(len(tails))]
}

// TextOfTokens returns a review-like English text that tok encodes into
// exactly n tokens, [CLS] and [SEP] included (n >= 3), drawn from r. Texts
// of one exact length make a batch's padded length the same on both sides.
func TextOfTokens(tok *tokenizer.Tokenizer, r *rand.Rand, n int) (string, error) {
	if n < 3 {
		return "", fmt.Errorf("bench: a text of %d tokens leaves no room for words", n)
	}
	var b strings.Builder
	for {
		b.WriteString(sentence(r))
		enc := tok.Encode(b.String())
		if len(enc.IDs) < n+2 {
			b.WriteByte(' ')
			continue
		}
		text := b.String()
		// Cut after content token k (index 0 is [CLS]); a cut inside a word
		// may retokenise differently, so look around n-2 for an exact fit.
		for _, d := range []int{0, -1, 1, -2, 2, -3, 3} {
			k := n - 2 + d
			if k < 1 || k >= len(enc.IDs)-1 {
				continue
			}
			s := strings.TrimSpace(text[:enc.ByteOffsets[k].End])
			if len(tok.Encode(s).IDs) == n {
				return s, nil
			}
		}
		return "", fmt.Errorf("bench: found no cut of %q giving %d tokens", text, n)
	}
}

// Texts returns count texts of exactly n tokens each, deterministic in seed.
func Texts(tok *tokenizer.Tokenizer, count, n int, seed uint64) ([]string, error) {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	out := make([]string, count)
	for i := range out {
		s, err := TextOfTokens(tok, r, n)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// CorpusMix describes the length mix CorpusLength draws from.
const CorpusMix = "75% of 4–12 tokens, 20% of 13–32, 5% of 33–64"

// CorpusLength draws the token length (specials included) of one corpus
// text: short-to-medium messages and reviews (CorpusMix), so that a batch
// of inputs in arrival order usually pads up to one of the few longer ones.
func CorpusLength(r *rand.Rand) int {
	switch p := r.Float64(); {
	case p < 0.75:
		return 4 + r.IntN(9)
	case p < 0.95:
		return 13 + r.IntN(20)
	default:
		return 33 + r.IntN(32)
	}
}

// Corpus returns count texts of mixed length (CorpusLength), in a random
// order, deterministic in seed, with no newline inside a text (a file holds
// one text a line).
func Corpus(tok *tokenizer.Tokenizer, count int, seed uint64) ([]string, error) {
	r := rand.New(rand.NewPCG(seed, 0xc0))
	out := make([]string, count)
	for i := range out {
		s, err := TextOfTokens(tok, r, CorpusLength(r))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}
