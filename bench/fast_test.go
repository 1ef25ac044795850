package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

// fastAgreementTexts is the size of the agreement corpus (Corpus, seed 2:
// the head of the corpus hfbench classifies).
const fastAgreementTexts = 2000

// TestFastAgreement is fast mode's agreement report: every fast-mode
// kernel set against exact mode, on the trained demo classifier (real
// MiniLM weights, make demo-model) and on the benchmark's random-weight
// DistilBERT-SST2, over the same 2,000 corpus texts in batches of 8. It
// prints per model and kernel set
//
//	fast-agreement: model=M kernels=K labels=E/N (P%) max_abs_dscore=X exact_s=T fast_s=U speedup=S
//
// (max_abs_dscore over every label's softmax score; times are the sums of
// the pipeline calls, exact and fast taking turns batch by batch, at
// $HFPIPE_BENCH_THREADS threads, default 1; flips lists the exact top
// scores of the texts whose label changed). It fails unless the
// float32-packed kernels keep at least 99.9% of the demo classifier's
// labels, and unless WithFast's kernels keep every one of its labels whose
// exact top score is at least 0.51 (a label can only flip where the top
// two scores are within twice max_abs_dscore of each other; the corpus
// has texts the classifier scores within 0.001 of a tie).
func TestFastAgreement(t *testing.T) {
	if testing.Short() {
		t.Skip("the agreement report runs 2,000 texts through several models")
	}
	threads := 1
	if s := os.Getenv("HFPIPE_BENCH_THREADS"); s != "" {
		var err error
		if threads, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	prev := torch.NumThreads()
	if err := torch.SetNumThreads(threads); err != nil {
		t.Fatal(err)
	}
	defer torch.SetNumThreads(prev)

	demo := filepath.Join(testenv.RepoRoot(), "build", "models", "minilm-sentiment")
	if _, err := os.Stat(filepath.Join(demo, ".complete")); err != nil {
		t.Fatalf("the trained demo classifier is missing (%v): build it with make demo-model", err)
	}
	random, err := EnsureModel(DefaultModelDir(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ name, dir string }{{"demo-minilm", demo}, {"random-distilbert-sst2", random}} {
		t.Run(m.name, func(t *testing.T) {
			for _, k := range torch.FastKernelSets() {
				t.Run(string(k), func(t *testing.T) {
					a := fastAgreement(t, m.dir, k)
					t.Logf("fast-agreement: model=%s kernels=%s %s", m.name, k, a)
					fmt.Printf("fast-agreement: model=%s kernels=%s %s\n", m.name, k, a)
					if m.name != "demo-minilm" {
						return
					}
					// float32-packed, and WithFast's set (issue 15's promise),
					// keep at least 99.9% of a trained model's labels.
					if (k == torch.FastFloat32Packed || k == torch.FastKernelSets()[0]) && a.equal*1000 < a.n*999 {
						t.Errorf("kernels %s keep %d/%d of the demo classifier's labels, want at least 99.9%%", k, a.equal, a.n)
					}
					if k == torch.FastKernelSets()[0] {
						for _, f := range a.flips {
							if f >= 0.51 {
								t.Errorf("WithFast changed a label the demo classifier gives with score %.4f", f)
							}
						}
					}
				})
			}
		})
	}
}

type agreement struct {
	n, equal    int
	maxDiff     float64
	exact, fast time.Duration
	worstText   string
	worstExact  []pipeline.Result
	flips       []float64 // exact top scores of the texts whose label changed
}

func (a agreement) String() string {
	flips := make([]string, 0, len(a.flips))
	for i, f := range a.flips {
		if i == 8 {
			flips = append(flips, "...")
			break
		}
		flips = append(flips, fmt.Sprintf("%.4f", f))
	}
	return fmt.Sprintf("labels=%d/%d (%.2f%%) max_abs_dscore=%.3g exact_s=%.2f fast_s=%.2f speedup=%.2f flips=[%s]",
		a.equal, a.n, 100*float64(a.equal)/float64(a.n), a.maxDiff, a.exact.Seconds(), a.fast.Seconds(),
		a.exact.Seconds()/a.fast.Seconds(), strings.Join(flips, " "))
}

// fastAgreement classifies the agreement corpus with the model in dir in
// exact mode and with kernels k, taking turns batch by batch.
func fastAgreement(t *testing.T, dir string, k torch.FastKernels) agreement {
	ctx := context.Background()
	load := func(opts ...hf.Option) *pipeline.TextClassification {
		p, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(dir), pipeline.WithBatchSize(8),
			pipeline.WithTopK(pipeline.AllLabels), pipeline.WithHF(opts...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	exact, fast := load(), load(hf.WithFastKernels(k))
	if got := fast.Model.Fast(); got != k {
		t.Fatalf("the fast pipeline's model runs kernels %q, want %q", got, k)
	}
	if got := exact.Model.Fast(); got != torch.FastOff {
		t.Fatalf("the exact pipeline's model runs kernels %q, want exact mode", got)
	}
	tok, err := tokenizer.FromFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := Corpus(tok, fastAgreementTexts, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Warm both up on the first batch.
	for _, p := range []*pipeline.TextClassification{exact, fast} {
		if _, err := p.Run(ctx, texts[:8]...); err != nil {
			t.Fatal(err)
		}
	}
	var a agreement
	for i := 0; i < len(texts); i += 8 {
		chunk := texts[i:min(i+8, len(texts))]
		run := func(p *pipeline.TextClassification, d *time.Duration) [][]pipeline.Result {
			start := time.Now()
			r, err := p.Run(ctx, chunk...)
			*d += time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		var re, rf [][]pipeline.Result
		if (i/8)%2 == 0 {
			re, rf = run(exact, &a.exact), run(fast, &a.fast)
		} else {
			rf, re = run(fast, &a.fast), run(exact, &a.exact)
		}
		for j := range chunk {
			a.n++
			if re[j][0].Label == rf[j][0].Label {
				a.equal++
			} else {
				a.flips = append(a.flips, re[j][0].Score)
			}
			d := 0.0
			for _, e := range re[j] {
				f := slices.IndexFunc(rf[j], func(r pipeline.Result) bool { return r.Label == e.Label })
				if f < 0 {
					t.Fatalf("text %d: fast mode has no label %s", i+j, e.Label)
				}
				d = math.Max(d, math.Abs(e.Score-rf[j][f].Score))
			}
			if d > a.maxDiff {
				a.maxDiff, a.worstText, a.worstExact = d, chunk[j], re[j]
			}
		}
	}
	if a.maxDiff > 0 {
		t.Logf("largest score change: %q (exact %v)", a.worstText, a.worstExact)
	}
	return a
}
