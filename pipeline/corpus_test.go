package pipeline

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

var (
	subjects   = []string{"The movie", "This course", "My new phone", "The service", "Our hotel room", "The food", "This library", "The concert", "Her latest novel", "The update"}
	verbs      = []string{"was", "is", "felt", "seemed", "turned out to be", "has been", "looks"}
	adjectives = []string{"amazing", "terrible", "boring", "wonderful", "disappointing", "fine", "awful", "brilliant", "mediocre", "surprisingly good", "a complete waste of time", "worth every penny"}
	tails      = []string{"!", ".", "...", " :)", " - never again.", ", I loved it.", ", to be honest.", "?!", " 😡", " 👍🏽"}
	odd        = []string{"", " ", "!!!", "Café déjà vu, naïve résumé", "日本語のテキストです。とても良い。", "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ", "İstanbul KELVIN K ß", "emoji 👩‍👩‍👧‍👦 family", "tab\tand\nnewline", "zero\u200bwidth", "ÀÉÎÕÜ àéîõü", "Привет, мир", "مرحبا بالعالم", "สวัสดีครับ", "URL https://example.com/a?b=c&d=e", "code: for i := 0; i < n; i++ { x[i] = 0 }", "12345 67.89 -1e10", "UPPER CASE SHOUTING", "a", "I've been waiting for a HuggingFace course my whole life."}
)

func sentence(r *rand.Rand) string {
	return subjects[r.IntN(len(subjects))] + " " + verbs[r.IntN(len(verbs))] + " " + adjectives[r.IntN(len(adjectives))] + tails[r.IntN(len(tails))]
}

func paragraph(r *rand.Rand, sentences int) string {
	s := make([]string, sentences)
	for i := range s {
		s[i] = sentence(r)
	}
	return strings.Join(s, " ")
}

// parityCorpus is the model parity input set: short texts, medium texts,
// texts over 512 tokens (truncated), odd texts, and sentence pairs.
// Deterministic, so failures reproduce.
func parityCorpus(short, medium, long, pairs int) ([]string, []tokenizer.Pair) {
	r := rand.New(rand.NewPCG(7, 11))
	var texts []string
	texts = append(texts, "I've been waiting for a HuggingFace course my whole life.", "I hate this so much!")
	texts = append(texts, odd...)
	for i := 0; i < short; i++ {
		texts = append(texts, paragraph(r, 1+r.IntN(3)))
	}
	for i := 0; i < medium; i++ {
		texts = append(texts, paragraph(r, 8+r.IntN(20)))
	}
	for i := 0; i < long; i++ {
		texts = append(texts, fmt.Sprintf("Long review %d: ", i)+paragraph(r, 90+r.IntN(40)))
	}
	var ps []tokenizer.Pair
	for i := 0; i < pairs; i++ {
		ps = append(ps, tokenizer.Pair{A: paragraph(r, 1+r.IntN(2)), B: paragraph(r, 1+r.IntN(4))})
	}
	return texts, ps
}
