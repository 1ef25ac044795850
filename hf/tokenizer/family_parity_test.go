package tokenizer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/stretchr/testify/require"
)

var (
	familiesOnce sync.Once
	familiesDir  string
)

// refFamilies returns the folder of Python-made byte-level BPE and Unigram
// tokenizer folders (third_party/tools/tokenizer_families.py), building it
// when missing; the cache key covers the script and the pinned requirements.
func refFamilies(t testing.TB) string {
	t.Helper()
	familiesOnce.Do(func() {
		key := contentKey(t, []string{toolPath("tokenizer_families.py"),
			filepath.Join(testenv.RepoRoot(), "third_party", "requirements.txt")})
		dir := filepath.Join(testenv.GenDir(t), "tokenizer", "families-"+key)
		if _, err := os.Stat(filepath.Join(dir, "stamp")); err != nil {
			testenv.RunPython(t, "tokenizer_families.py", dir)
		}
		familiesDir = dir
	})
	if familiesDir == "" {
		t.Fatal("tokenizer family folders could not be built (see the first failure)")
	}
	return familiesDir
}

// families lists the tokenizer.json variants of each family.
var families = map[string][]string{
	"bpe":     {"bpe/roberta", "bpe/gpt2", "bpe/modernbert", "bpe/llama", "bpe/roberta-prefix", "bpe/gpt2-mismatch"},
	"unigram": {"unigram/xlmr", "unigram/debertav3", "unigram/t5", "unigram/bytefb"},
	// the remaining components: WordLevel, WordPiece outside BERT's
	// pipeline, BPE with a suffix or a prefix, their normalizers,
	// pre-tokenizers and decoders
	"components": {"components/wordlevel", "components/wordpiece", "components/bpe-suffix", "components/bpe-prefix"},
}

// derivedVariants are tokenizer.json variants no converter writes, made
// by editing a trained family folder's file (in the test, so the trained
// folders' cache stays valid): parity covers what they switch on.
var derivedVariants = map[string][]struct {
	name, from string
	edit       func(j map[string]any)
}{
	"bpe": {
		// Llama-3 style: a Sequence of a trimming ByteLevel and a template,
		// merges in the legacy "a b" format.
		{"bpe-derived/gpt2-seq", "bpe/gpt2", func(j map[string]any) {
			m := j["model"].(map[string]any)
			var legacy []any
			for _, p := range m["merges"].([]any) {
				if pair, ok := p.([]any); ok {
					legacy = append(legacy, pair[0].(string)+" "+pair[1].(string))
				} else {
					legacy = append(legacy, p)
				}
			}
			m["merges"] = legacy
			j["post_processor"] = map[string]any{"type": "Sequence", "processors": []any{
				map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
				map[string]any{"type": "TemplateProcessing",
					"single": []any{map[string]any{"SpecialToken": map[string]any{"id": "<|endoftext|>", "type_id": 0}},
						map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
					"pair": []any{map[string]any{"SpecialToken": map[string]any{"id": "<|endoftext|>", "type_id": 0}},
						map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
						map[string]any{"SpecialToken": map[string]any{"id": "<|endoftext|>", "type_id": 1}},
						map[string]any{"Sequence": map[string]any{"id": "B", "type_id": 1}}},
					"special_tokens": map[string]any{"<|endoftext|>": map[string]any{"id": "<|endoftext|>",
						"ids": []any{float64(m["vocab"].(map[string]any)["<|endoftext|>"].(float64))}, "tokens": []any{"<|endoftext|>"}}}},
			}}
		}},
		// CLIP-like: NFC, space runs to one space, lowercase.
		{"bpe-derived/roberta-nfc", "bpe/roberta", func(j map[string]any) {
			j["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
				map[string]any{"type": "NFC"},
				map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": ` {2,}`}, "content": " "},
				map[string]any{"type": "Lowercase"}}}
		}},
		// NFKD then NFC (compatibility characters reach the model composed).
		{"bpe-derived/gpt2-nfkd-nfc", "bpe/gpt2", func(j map[string]any) {
			j["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
				map[string]any{"type": "NFKD"}, map[string]any{"type": "NFC"}}}
		}},
	},
	"components": {
		// WordPiece with NFKC + Lowercase in place of BertNormalizer.
		{"components-derived/wordpiece-nfkc", "components/wordpiece", func(j map[string]any) {
			j["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
				map[string]any{"type": "NFKC"}, map[string]any{"type": "Lowercase"}}}
		}},
		// WordLevel with NFD + StripAccents + Lowercase.
		{"components-derived/wordlevel-nfd", "components/wordlevel", func(j map[string]any) {
			j["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
				map[string]any{"type": "NFD"}, map[string]any{"type": "StripAccents"}, map[string]any{"type": "Lowercase"}}}
		}},
	},
	"unigram": {
		// byte_fallback on (transformers' converter leaves it off): the
		// model has the <0xXX> pieces sentencepiece trained.
		// NFKC in place of the Precompiled charsmap (XLM-R's Replace kept),
		// and NFD + StripAccents in front of DeBERTa-v3's.
		{"unigram-derived/xlmr-nfkc", "unigram/xlmr", func(j map[string]any) {
			n := j["normalizer"].(map[string]any)
			seq := n["normalizers"].([]any)
			seq[0] = map[string]any{"type": "NFKC"}
		}},
		{"unigram-derived/debertav3-nfd", "unigram/debertav3", func(j map[string]any) {
			j["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
				map[string]any{"type": "NFD"}, map[string]any{"type": "StripAccents"}, j["normalizer"]}}
		}},
		{"unigram-derived/bytefb-on", "unigram/bytefb", func(j map[string]any) {
			j["model"].(map[string]any)["byte_fallback"] = true
			j["decoder"] = map[string]any{"type": "Sequence", "decoders": []any{
				map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
				map[string]any{"type": "ByteFallback"}, map[string]any{"type": "Fuse"},
				map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0}}}
		}},
	},
}

// deriveFolders writes the derived variants of a family under
// dir/<name> (copying the source folder, editing its tokenizer.json).
func deriveFolders(t *testing.T, dir, family string) []string {
	t.Helper()
	var names []string
	for _, v := range derivedVariants[family] {
		src, dst := filepath.Join(dir, v.from), filepath.Join(dir, v.name)
		require.NoError(t, os.MkdirAll(dst, 0o755))
		ents, err := os.ReadDir(src)
		require.NoError(t, err)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			require.NoError(t, err)
			if e.Name() == TokenizerJSON {
				var j map[string]any
				require.NoError(t, json.Unmarshal(b, &j))
				v.edit(j)
				b, err = json.Marshal(j)
				require.NoError(t, err)
			}
			require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
		}
		names = append(names, v.name)
	}
	return names
}

// familyCorpus is the WordPiece corpus plus what byte-level and
// SentencePiece pipelines add: random code points from every plane,
// contractions and whitespace runs (the GPT-2 split), the added tokens of
// the family folders, spaces around everything.
func familyCorpus() []corpusItem {
	items := buildCorpus()
	r := rand.New(rand.NewPCG(20261202, 11))
	randRune := func() rune {
		for {
			var c rune
			switch r.IntN(4) {
			case 0:
				c = rune(r.IntN(0x80))
			case 1:
				c = rune(r.IntN(0x800))
			case 2:
				c = rune(r.IntN(0x10000))
			default:
				c = rune(r.IntN(0x110000))
			}
			if c < 0xD800 || c > 0xDFFF {
				return c
			}
		}
	}
	for range 600 {
		var b strings.Builder
		for range 1 + r.IntN(24) {
			b.WriteRune(randRune())
			if r.IntN(5) == 0 {
				b.WriteString([]string{" ", "  ", "\t", "\n", " a", "'s", "'ll "}[r.IntN(7)])
			}
		}
		items = append(items, corpusItem{"random-codepoints", b.String()})
	}
	words := []string{"I'm", "you're", "it's", "we've", "they'll", "she'd", "'S", "'RE", "don't", "   ", "\t\n", " \u00a0 ",
		"\u3000", "hfpipe", " tokenizers", "tokenizers", "wordonly", "xwordonly", "<ent>", "<strip>", " <strip> ", "<mask>",
		"<s>", "</s>", "[CLS]", "[SEP]", "<|endoftext|>", "12345", "3.14", "١٢٣", "ⅷ", "x²", "▁", "▁▁x", "Ġ", "<0x41>",
		"café", "naïve", "ﬁ", "Ⅻ", "①", "ＡＢＣ", "½", "😀", "👍🏽", "e\u0301", "\u0301", "ᄀ\u1161\u11a8"}
	for range 500 {
		var b strings.Builder
		if r.IntN(3) == 0 {
			b.WriteString(" ")
		}
		for k := range 1 + r.IntN(8) {
			if k > 0 && r.IntN(3) != 0 {
				b.WriteString([]string{" ", "  ", "", "\n", " \t "}[r.IntN(5)])
			}
			b.WriteString(words[r.IntN(len(words))])
		}
		if r.IntN(4) == 0 {
			b.WriteString("  ")
		}
		items = append(items, corpusItem{"family-words", b.String()})
	}
	// What the NFC/NFD/NFKC/NFKD normalizers reorder, compose or expand:
	// marks in every order, Hangul jamo runs, singletons, exclusions,
	// compatibility characters, marks assigned after Unicode 9.0.
	forms := []string{"e\u0301", "\u0301", "a\u0328\u0301\u0307", "a\u0301\u0328", "\u0344", "\u0f73", "\u0f71\u0f72",
		"\u0958", "\u212b", "\u2126", "\u1e9b\u0323", "\u1100", "\u1161", "\u11a8", "\uac00", "\uac00\u11a8",
		"\u1100\u1161\u11a8", "\u115f\u1160", "\ufb01", "\u2460", "\uff21", "\u00bd", "\u3300", "\ufdfa", "\u2075",
		"\u0d4a", "\u0d46\u0d3e", "\u1dfa", "\u0898", "A\u030a", "\u00c5\u0301", "\u0308\u0301a", "\U0002FA1D", "x"}
	for range 400 {
		var b strings.Builder
		for k := range 1 + r.IntN(10) {
			if k > 0 && r.IntN(4) == 0 {
				b.WriteString([]string{" ", "  ", "\n", "\t"}[r.IntN(4)])
			}
			b.WriteString(forms[r.IntN(len(forms))])
		}
		items = append(items, corpusItem{"unicode-forms", b.String()})
	}
	return items
}

// familyRuns: every setting on the first variant of each family, the
// plain single and pair settings and two truncating batched ones on the
// others.
func familyRuns(family string) []refRun {
	var runs []refRun
	for k, f := range families[family] {
		for _, s := range paritySettings() {
			if k == 0 || s.Name == "default" || s.Name == "pair-default" || s.Name == "pair-longest-first32" || s.Name == "max32-left" {
				runs = append(runs, refRun{f, s})
			}
		}
	}
	return runs
}

// TestFamilyParity compares every field (ids, type ids, attention and
// special-token masks, char offsets, tokens, decode with and without
// special tokens) with transformers' AutoTokenizer for the byte-level BPE,
// Unigram and other-component variants, and prints one tokenizer-parity
// line per family.
func TestFamilyParity(t *testing.T) {
	dir := refFamilies(t)
	items := familyCorpus()
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = it.text
	}
	pairs := corpusPairs(len(items))
	for _, family := range []string{"bpe", "unigram", "components"} {
		runs := familyRuns(family)
		ref := runReferenceIn(t, dir, items, pairs, runs)
		// The derived variants have their own (small) reference run, so
		// that adding one leaves the others' cache valid.
		var druns []refRun
		for _, name := range deriveFolders(t, dir, family) {
			for _, s := range paritySettings() {
				if s.Name == "default" || s.Name == "pair-default" || s.Name == "pair-longest-first32" || s.Name == "max32-left" {
					druns = append(druns, refRun{name, s})
				}
			}
		}
		if len(druns) > 0 {
			dref := runReferenceIn(t, dir, items, pairs, druns)
			runs = append(runs, druns...)
			ref.Runs = append(ref.Runs, dref.Runs...)
		}
		tks := map[string]*Tokenizer{}
		same, total, reported := 0, 0, 0
		for i, run := range runs {
			rr := ref.Runs[i]
			require.Equal(t, run.Folder, rr.Folder)
			tk := tks[run.Folder]
			if tk == nil {
				var err error
				tk, err = FromFolder(filepath.Join(dir, run.Folder))
				require.NoError(t, err, run.Folder)
				tks[run.Folder] = tk
			}
			if raceEnabled && run.Setting.Name != "longest" && run.Setting.Name != "pair-longest-first32" {
				continue // under -race: the batched (concurrent) settings only
			}
			encs, errs := goRows(tk, run.Setting, texts, pairs)
			require.Len(t, rr.Rows, len(encs))
			bad := 0
			for k := range encs {
				total++
				d := diffRow(tk, run.Setting, encs[k], errs[k], rr.Rows[k])
				if d == "" && run.Setting.Input == "single" && errs[k] == nil {
					d = byteOffsetsAgree(texts[k], encs[k])
				}
				if d == "" {
					same++
					continue
				}
				bad++
				if reported < 12 {
					reported++
					in := fmt.Sprintf("[%s] %q", items[min(k, len(items)-1)].cat, texts[min(k, len(texts)-1)])
					if run.Setting.Input == "pair" {
						in = fmt.Sprintf("%q | %q", texts[pairs[k][0]], texts[pairs[k][1]])
					}
					if len(in) > 300 {
						in = in[:300] + "..."
					}
					t.Errorf("%s/%s row %d %s\n  %s", run.Folder, run.Setting.Name, k, in, d)
				}
			}
			if bad > 0 {
				t.Logf("%s/%s: %d/%d rows differ", run.Folder, run.Setting.Name, bad, len(encs))
			}
		}
		if !raceEnabled {
			fmt.Printf("tokenizer-parity: family=%s %d/%d identical\n", family, same, total)
		}
		require.Equal(t, total, same, "tokenizer parity, family %s", family)
	}
}

// byteOffsetsAgree checks ByteOffsets against Offsets (which the reference
// checked): on valid UTF-8 each byte span must be the char span.
func byteOffsetsAgree(text string, e Encoding) string {
	if !utf8.ValidString(text) {
		return ""
	}
	for i, o := range e.Offsets {
		b := e.ByteOffsets[i]
		if b.End > len(text) || b.Start > b.End {
			return fmt.Sprintf("byte offsets %v out of range", b)
		}
		if e.SpecialTokensMask[i] == 1 && e.AttentionMask[i] == 0 {
			continue
		}
		if utf8.RuneCountInString(text[:b.Start]) != o.Start || utf8.RuneCountInString(text[:b.End]) != o.End {
			if o == (Offset{}) && b == (Offset{}) {
				continue
			}
			return fmt.Sprintf("token %d %q: byte offsets %v do not match char offsets %v", i, e.Tokens[i], b, o)
		}
	}
	return ""
}
