package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.25, 2}, {0.5, 3}, {0.99, 4.96}, {1, 5}} {
		if got := Quantile(xs, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v, %v) = %v, want %v", xs, c.q, got, c.want)
		}
	}
	if xs[0] != 5 {
		t.Error("Quantile must not reorder its input")
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("Quantile of nothing must be NaN")
	}
	s := Summarize([]float64{2, 4, 6, 8})
	if s.Median != 5 || s.Min != 2 || s.Max != 8 || s.N != 4 || s.Q1 != 3.5 || s.Q3 != 6.5 {
		t.Errorf("Summarize = %+v", s)
	}
}

func TestMeasure(t *testing.T) {
	calls := 0
	reps, err := Measure(Plan{Warmup: 2, Reps: 3, MinCalls: 4}, func() error { calls++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2+3*4 || len(reps) != 3 {
		t.Fatalf("%d calls, %d reps; want 14 calls, 3 reps", calls, len(reps))
	}
	for _, r := range reps {
		if r.Calls != 4 || len(r.Latencies) != 4 || r.Seconds <= 0 {
			t.Errorf("rep %+v", r)
		}
	}
	if got := Rates([]Rep{{Calls: 4, Seconds: 2}}, 8); got[0] != 16 {
		t.Errorf("Rates = %v, want [16]", got)
	}
}

// vocabTokenizer is the uncased BERT tokenizer built from vocab.txt alone,
// as the benchmark model's folder has it, without building the model.
func vocabTokenizer(t *testing.T) *tokenizer.Tokenizer {
	dir := t.TempDir()
	vocab, err := os.ReadFile(testenv.UncasedVocab(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), vocab, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"tokenizer_class": "DistilBertTokenizer", "do_lower_case": true, "model_max_length": 512}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTextsHaveExactLength(t *testing.T) {
	tok := vocabTokenizer(t)
	for _, n := range []int{3, 16, 128, 512} {
		texts, err := Texts(tok, 8, n, 1)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Texts(tok, 8, n, 1)
		for i, s := range texts {
			if got := len(tok.Encode(s).IDs); got != n {
				t.Errorf("len %d text %d has %d tokens: %q", n, i, got, s)
			}
			if again[i] != s {
				t.Errorf("len %d text %d is not deterministic", n, i)
			}
		}
	}
	corpus, err := Corpus(tok, 500, 2)
	if err != nil {
		t.Fatal(err)
	}
	short := 0
	for _, s := range corpus {
		n := len(tok.Encode(s).IDs)
		if n < 4 || n > 64 {
			t.Errorf("corpus text of %d tokens: %q", n, s)
		}
		if n <= 12 {
			short++
		}
	}
	if short < 340 || short > 410 {
		t.Errorf("%d/500 corpus texts of at most 12 tokens, want about 75%%", short)
	}
}

// The benchmarks below time the Go side alone on the benchmark model (built
// on first use, see EnsureModel), with $HFPIPE_BENCH_THREADS libtorch
// threads (default 2). hfbench compares with Python.

var (
	modelOnce sync.Once
	modelDir  string
	modelErr  error
)

func benchModel(b *testing.B) string {
	b.Helper()
	modelOnce.Do(func() {
		modelDir, modelErr = EnsureModel(DefaultModelDir(), os.Stderr)
		if modelErr == nil {
			threads := 2
			if s := os.Getenv("HFPIPE_BENCH_THREADS"); s != "" {
				threads, modelErr = strconv.Atoi(s)
			}
			if modelErr == nil {
				modelErr = torch.SetNumThreads(threads)
			}
			if modelErr == nil {
				modelErr = torch.SetMemoryReuse(true)
			}
		}
	})
	if modelErr != nil {
		b.Fatal(modelErr)
	}
	return modelDir
}

var benchShapes = []struct{ bs, n int }{{1, 16}, {8, 16}, {32, 16}, {1, 128}, {8, 128}, {32, 128}}

// benchLoaders are the two ways the Go side runs the model: natively from
// its safetensors (the default) and from its TorchScript export.
var benchLoaders = []struct {
	name string
	opts []hf.Option
}{{"native", nil}, {"torchscript", []hf.Option{hf.WithTorchScript()}}}

// BenchmarkPipelineRun times TextClassification.Run on one batch of texts
// of exactly n tokens (warmed up first), with each loader.
func BenchmarkPipelineRun(b *testing.B) {
	for _, l := range benchLoaders {
		b.Run(l.name, func(b *testing.B) { benchPipelineRun(b, l.opts) })
	}
}

func benchPipelineRun(b *testing.B, opts []hf.Option) {
	dir := benchModel(b)
	ctx := context.Background()
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("bs=%d/len=%d", s.bs, s.n), func(b *testing.B) {
			p, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(dir), pipeline.WithBatchSize(s.bs), pipeline.WithHF(opts...))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			texts, err := Texts(p.Tokenizer, s.bs, s.n, 1)
			if err != nil {
				b.Fatal(err)
			}
			for range 3 {
				if _, err := p.Run(ctx, texts...); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				if _, err := p.Run(ctx, texts...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.bs)*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
		})
	}
}

// BenchmarkForward times the model's forward pass (Module.Forward) alone
// on ready input tensors, with each loader.
func BenchmarkForward(b *testing.B) {
	for _, l := range benchLoaders {
		b.Run(l.name, func(b *testing.B) { benchForward(b, l.opts) })
	}
}

func benchForward(b *testing.B, opts []hf.Option) {
	dir := benchModel(b)
	ctx := context.Background()
	mod, err := hf.LoadModel(ctx, dir, hf.HeadSequenceClassification, opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer mod.Close()
	if names := mod.InputNames(); len(names) != 2 || names[0] != "input_ids" || names[1] != "attention_mask" {
		b.Fatalf("%s reads %q, want input_ids and attention_mask", mod.Source(), names)
	}
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("bs=%d/len=%d", s.bs, s.n), func(b *testing.B) {
			ids := make([]int64, s.bs*s.n)
			mask := make([]int64, s.bs*s.n)
			for i := range ids {
				ids[i], mask[i] = int64(1000+i%20000), 1
			}
			x, err := torch.FromSlice(ids, int64(s.bs), int64(s.n))
			if err != nil {
				b.Fatal(err)
			}
			defer x.Close()
			m, err := torch.FromSlice(mask, int64(s.bs), int64(s.n))
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			call := func() {
				out, err := mod.ForwardTensors(ctx, x, m)
				if err != nil {
					b.Fatal(err)
				}
				torch.CloseValue(out)
			}
			for range 3 {
				call()
			}
			b.ResetTimer()
			for range b.N {
				call()
			}
		})
	}
}

// BenchmarkTokenize times the pipeline's preprocessing (EncodeBatch with
// truncation) of a batch of 32 texts of 128 tokens, and the tensor
// creation that follows padding.
func BenchmarkTokenize(b *testing.B) {
	dir := benchModel(b)
	ctx := context.Background()
	tok, err := tokenizer.FromFolder(dir)
	if err != nil {
		b.Fatal(err)
	}
	texts, err := Texts(tok, 32, 128, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("preprocess", func(b *testing.B) {
		for range b.N {
			if _, err := pipeline.Preprocess(ctx, tok, texts, nil, 512); err != nil {
				b.Fatal(err)
			}
		}
	})
	encs, err := pipeline.Preprocess(ctx, tok, texts, nil, 512)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("pad+tensors", func(b *testing.B) {
		for range b.N {
			batch, err := tok.Pad(encs, tokenizer.Options{})
			if err != nil {
				b.Fatal(err)
			}
			x, err := torch.FromSlice(batch.InputIDs, int64(batch.Size), int64(batch.SeqLen))
			if err != nil {
				b.Fatal(err)
			}
			x.Close()
		}
	})
}
