package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hfpipe/hfpipe/bench"
	"github.com/hfpipe/hfpipe/internal/testenv"
)

// The tokenizer case per tokenizer family: the benchmark model's own
// tokenizer is BERT's WordPiece, so the other families are measured on the
// folders the tokenizer parity tests use (third_party/tools/
// tokenizer_families.py: trained with the pinned tokenizers and
// sentencepiece, converted by transformers), on the same texts, Go and
// Python tokenizers side by side in the same run.

// tokFamilyFolders are the measured folders, one per family.
var tokFamilyFolders = []struct{ family, folder, what string }{
	{"bpe", "bpe/roberta", "RoBERTa-like byte-level BPE"},
	{"unigram", "unigram/xlmr", "XLM-R-like Unigram (Precompiled, Metaspace)"},
	{"wordlevel", "components/wordlevel", "WordLevel (Nmt, Lowercase, StripAccents, Replace, Strip; Whitespace, Digits)"},
}

// tokFamily is the tokenizer case for one family.
type tokFamily struct {
	Family string `json:"family"`
	Folder string `json:"folder"`
	What   string `json:"what"`
	tokOut
}

// familiesDir builds (once per version of the script and of the pinned
// requirements) the family folders under bench/tmp and returns their root.
func (r *runner) familiesDir(ctx context.Context) (string, error) {
	root := testenv.RepoRoot()
	script := filepath.Join(root, "third_party", "tools", "tokenizer_families.py")
	key, err := testenv.ContentKey([]string{script, filepath.Join(root, "third_party", "requirements.txt")})
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "bench", "tmp", "tokenizer-families-"+key)
	if _, err := os.Stat(filepath.Join(dir, "stamp")); err == nil {
		return dir, nil
	}
	logf("tokenizer families: building the folders (tokenizer_families.py, a few minutes the first time)")
	cmd := exec.CommandContext(ctx, r.py, script, dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("tokenizer_families.py: %w", err)
	}
	return dir, nil
}

// tokenizerFamilies runs the tokenizer case on each family's folder.
func (r *runner) tokenizerFamilies(ctx context.Context, texts []string, threads int, plan bench.Plan) ([]*tokFamily, error) {
	dir, err := r.familiesDir(ctx)
	if err != nil {
		return nil, err
	}
	var out []*tokFamily
	for _, f := range tokFamilyFolders {
		folder := filepath.Join(dir, f.folder)
		t := &tokFamily{Family: f.family, Folder: f.folder, What: f.what}
		logf("tokenizer %s: Go", f.family)
		if _, err := r.goChild(ctx, "tokenizer", tokenizerJob{Model: folder, Threads: threads, Texts: texts, Plan: plan}, &t.Go); err != nil {
			return nil, err
		}
		logf("tokenizer %s: Python", f.family)
		pyJob := map[string]any{"tokenizer_json": filepath.Join(folder, "tokenizer.json"), "texts": texts, "threads": threads,
			"warmup": plan.Warmup, "reps": plan.Reps, "rep_seconds": plan.RepSeconds}
		if _, err := r.pyChild(ctx, "tokenizer", pyJob, &t.Py); err != nil {
			return nil, err
		}
		if t.Go.Tokens != t.Py.Tokens {
			return nil, fmt.Errorf("tokenizer %s: Go counts %d tokens, Python %d, on the same texts", f.family, t.Go.Tokens, t.Py.Tokens)
		}
		for _, l := range t.ratioLines() {
			logf("%s", l)
		}
		out = append(out, t)
	}
	return out, nil
}

// ratioLines are tokOut's lines, named by family.
func (t *tokFamily) ratioLines() []string {
	lines := t.tokOut.ratioLines()
	for i, l := range lines {
		lines[i] = strings.Replace(l, "ratio tokenizer ", "ratio tokenizer-"+t.Family+" ", 1)
	}
	return lines
}

// tokFamiliesMarkdown is the report's section on the families: the
// benchmark model's WordPiece (the tokenizer case above) and each family.
func tokFamiliesMarkdown(wp *tokOut, fams []*tokFamily, threads int) string {
	if len(fams) == 0 {
		return ""
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("## Tokenizer throughput per family\n\n")
	w("The same texts and protocol as above, on the tokenizer.json of each family (folders made by `third_party/tools/tokenizer_families.py` with the pinned tokenizers, sentencepiece and transformers' converters, as the parity tests make them). Target: Go/Python ≥ 1.0 single thread and ≥ 1.5 in batch.\n\n")
	w("| family | tokenizer | tokens | single: Go / Python tokens/s | single Go/Python | batch (%d threads): Go / Python tokens/s | batch Go/Python |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n", threads)
	row := func(family, what string, t *tokOut) {
		gs, ps, gb, pb := t.rates()
		w("| %s | %s | %d | %s / %s | **%.2f** | %s / %s | **%.2f** |\n", family, what, t.Go.Tokens, num(gs.Median), num(ps.Median), gs.Median/ps.Median,
			num(gb.Median), num(pb.Median), gb.Median/pb.Median)
	}
	if wp != nil {
		row("wordpiece", "the benchmark model's (BERT WordPiece)", wp)
	}
	for _, f := range fams {
		row(f.Family, fmt.Sprintf("%s (`%s`)", f.What, f.Folder), &f.tokOut)
	}
	w("\n")
	return b.String()
}
