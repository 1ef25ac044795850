package tokenizer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/stretchr/testify/require"
)

// benchTexts is the parity corpus, which the Python benchmark reads too.
func benchTexts() []string {
	items := buildCorpus()
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = it.text
	}
	return texts
}

func countTokens(tk *Tokenizer, texts []string) int {
	n := 0
	for _, s := range texts {
		n += len(tk.Encode(s).IDs)
	}
	return n
}

// BenchmarkEncode encodes the corpus one text at a time on one goroutine.
func BenchmarkEncode(b *testing.B) {
	tk := loadFolder(b, "uncased")
	texts := benchTexts()
	tokens := countTokens(tk, texts)
	b.ResetTimer()
	for range b.N {
		for _, s := range texts {
			tk.Encode(s)
		}
	}
	b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncodeBatch encodes the whole corpus as one batch (no padding),
// using GOMAXPROCS goroutines.
func BenchmarkEncodeBatch(b *testing.B) {
	tk := loadFolder(b, "uncased")
	texts := benchTexts()
	tokens := countTokens(tk, texts)
	b.ResetTimer()
	for range b.N {
		if _, err := tk.EncodeBatch(context.Background(), texts, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// benchCases are the corpora of TestBenchRatio: the whole parity corpus
// (every script, long texts, invalid UTF-8) and its English prose alone.
func benchCases() map[string][]string {
	all := buildCorpus()
	cases := map[string][]string{}
	for _, it := range all {
		cases["corpus"] = append(cases["corpus"], it.text)
		if it.cat == "prose" {
			cases["english"] = append(cases["english"], it.text)
		}
	}
	return cases
}

// benchTokenizers are the tokenizers TestBenchRatio and the benchmarks
// measure, one per family: BERT uncased WordPiece, RoBERTa-like byte-level
// BPE, XLM-R-like Unigram (Precompiled + Metaspace), WordLevel (Nmt,
// Lowercase, StripAccents, Replace, Strip; Whitespace, Digits).
func benchTokenizers(t testing.TB) map[string]string {
	fam := refFamilies(t)
	return map[string]string{
		"wordpiece": filepath.Join(refFolders(t), "uncased"),
		"bpe":       filepath.Join(fam, "bpe", "roberta"),
		"unigram":   filepath.Join(fam, "unigram", "xlmr"),
		"wordlevel": filepath.Join(fam, "components", "wordlevel"),
	}
}

func benchFamily(b *testing.B, family string, batch bool) {
	tk, err := FromFolder(benchTokenizers(b)[family])
	require.NoError(b, err)
	texts := benchTexts()
	tokens := countTokens(tk, texts)
	b.ResetTimer()
	for range b.N {
		if batch {
			if _, err := tk.EncodeBatch(context.Background(), texts, Options{}); err != nil {
				b.Fatal(err)
			}
			continue
		}
		for _, s := range texts {
			tk.Encode(s)
		}
	}
	b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncodeBPE is BenchmarkEncode with the byte-level BPE tokenizer.
func BenchmarkEncodeBPE(b *testing.B) { benchFamily(b, "bpe", false) }

// BenchmarkEncodeBatchBPE is BenchmarkEncodeBatch with the byte-level BPE tokenizer.
func BenchmarkEncodeBatchBPE(b *testing.B) { benchFamily(b, "bpe", true) }

// BenchmarkEncodeUnigram is BenchmarkEncode with the Unigram tokenizer.
func BenchmarkEncodeUnigram(b *testing.B) { benchFamily(b, "unigram", false) }

// BenchmarkEncodeBatchUnigram is BenchmarkEncodeBatch with the Unigram tokenizer.
func BenchmarkEncodeBatchUnigram(b *testing.B) { benchFamily(b, "unigram", true) }

// BenchmarkEncodeWordLevel is BenchmarkEncode with the WordLevel tokenizer.
func BenchmarkEncodeWordLevel(b *testing.B) { benchFamily(b, "wordlevel", false) }

// BenchmarkEncodeBatchWordLevel is BenchmarkEncodeBatch with the WordLevel tokenizer.
func BenchmarkEncodeBatchWordLevel(b *testing.B) { benchFamily(b, "wordlevel", true) }

// TestBenchRatio runs our encoders and tokenizer_bench.py (Hugging Face
// tokenizers on the same texts and tokenizer.json) in one run and prints
// one ratio line per family and case. It takes a few minutes, so it runs
// only with HFPIPE_BENCH=1 (HFPIPE_BENCH_FAMILIES narrows the families,
// e.g. "bpe,unigram").
func TestBenchRatio(t *testing.T) {
	if os.Getenv("HFPIPE_BENCH") != "1" {
		t.Skip("set HFPIPE_BENCH=1 to compare speed with Python")
	}
	fams := []string{"wordpiece", "bpe", "unigram", "wordlevel"}
	if v := os.Getenv("HFPIPE_BENCH_FAMILIES"); v != "" {
		fams = strings.Split(v, ",")
	}
	folders := benchTokenizers(t)
	cases := benchCases()
	for _, family := range fams {
		folder, ok := folders[family]
		require.True(t, ok, "unknown family %q", family)
		tk, err := FromFolder(folder)
		require.NoError(t, err)
		for _, name := range []string{"corpus", "english"} {
			texts := cases[name]
			enc := make([]map[string]string, len(texts))
			for i, s := range texts {
				if utf8.ValidString(s) {
					enc[i] = map[string]string{"t": s}
				} else {
					enc[i] = map[string]string{"b": base64.StdEncoding.EncodeToString([]byte(s))}
				}
			}
			data, err := json.Marshal(map[string]any{"texts": enc})
			require.NoError(t, err)
			in := filepath.Join(testenv.GenDir(t), "tokenizer", "bench-"+name+".json")
			require.NoError(t, os.WriteFile(in, data, 0o644))
			out := testenv.RunPython(t, "tokenizer_bench.py", filepath.Join(folder, TokenizerJSON), in, "2")
			var py struct {
				Single float64 `json:"single_tokens_per_s"`
				Batch  float64 `json:"batch_tokens_per_s"`
				Tokens int     `json:"tokens"`
			}
			require.NoError(t, json.Unmarshal(out, &py), string(out))
			require.Equal(t, py.Tokens, countTokens(tk, texts), "both sides must count the same tokens")

			measure := func(procs int, f func()) float64 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				f() // warm up
				start, n := time.Now(), 0
				for time.Since(start) < 3*time.Second {
					f()
					n++
				}
				return float64(py.Tokens) * float64(n) / time.Since(start).Seconds()
			}
			single := measure(1, func() {
				for _, s := range texts {
					tk.Encode(s)
				}
			})
			batch := measure(2, func() {
				if _, err := tk.EncodeBatch(context.Background(), texts, Options{}); err != nil {
					t.Fatal(err)
				}
			})
			label := name
			if family != "wordpiece" { // keep the WordPiece lines as they were
				label = family + "-" + name
			}
			fmt.Printf("ratio tokenizer-%s-single: %.2fx (go Encode %.0f tokens/s on 1 thread, python tokenizers encode %.0f tokens/s; %d texts)\n",
				label, single/py.Single, single, py.Single, len(texts))
			fmt.Printf("ratio tokenizer-%s-batch: %.2fx (go EncodeBatch %.0f tokens/s on 2 threads, python tokenizers encode_batch %.0f tokens/s on 2 threads)\n",
				label, batch/py.Batch, batch, py.Batch)
		}
	}
}
