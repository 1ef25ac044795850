package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/pipeline"
	"github.com/hfpipe/hfpipe/torch"
)

// explain reproduces the Hugging Face course's "behind the pipeline" for
// sentiment analysis, printing what each of the three stages produces.
func explain(ctx context.Context, c *config, texts []string, w io.Writer) error {
	dev, err := torch.ParseDevice(c.device)
	if err != nil {
		return err
	}
	dt, err := torch.ParseDType(c.dtype)
	if err != nil {
		return err
	}
	opts := append([]hf.Option{hf.WithDevice(dev), hf.WithDType(dt)}, c.hfOptions()...)

	fmt.Fprintf(w, "model: %s (device %s, libtorch %s)\n", c.model, dev, torch.Version())
	fmt.Fprintf(w, "kernels: %s\n", torch.CPUEnv())
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, c.model)
	if err != nil {
		return err
	}
	clf, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, c.model, opts...)
	if err != nil {
		return err
	}
	defer clf.Close()
	fmt.Fprintf(w, "runs: %s\n", clf.Source())
	info, err := readModelInfo(clf.Dir)
	if err != nil {
		return err
	}
	if info != nil {
		describeModel(w, info)
	}
	if randomWeights(clf.Dir) {
		fmt.Fprintln(w, "NOTE: this model has RANDOM weights (its model card says so): the shapes and the pipeline are real, the labels mean nothing.")
	}

	fmt.Fprintln(w, "\n== 1. Tokenizer: AutoTokenizer.from_pretrained(checkpoint); tokenizer(raw_inputs, padding=True, truncation=True)")
	batch, err := tok.EncodeBatch(ctx, texts, tokenizer.Options{Padding: tokenizer.PadLongest, Truncation: tokenizer.LongestFirst})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "input_ids: shape [%d, %d]\n%s\n", batch.Size, batch.SeqLen, intRows(batch.InputIDs, batch.SeqLen))
	fmt.Fprintf(w, "attention_mask: shape [%d, %d]\n%s\n", batch.Size, batch.SeqLen, intRows(batch.AttentionMask, batch.SeqLen))
	for i, e := range batch.Encodings {
		fmt.Fprintf(w, "tokens[%d]: %s\n", i, strings.Join(e.Tokens, " "))
	}

	fmt.Fprintln(w, "\n== 2. Model")
	base, err := hf.AutoModel.FromPretrained(ctx, c.model, opts...)
	if err != nil {
		fmt.Fprintf(w, "AutoModel: skipped (%v)\n", err)
	} else {
		out, err := base.Forward(ctx, batch)
		base.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "AutoModel -> last_hidden_state: shape %s\n", shape(out.LastHiddenState.Shape()))
		out.Close()
	}
	logitsOut, err := clf.Forward(ctx, batch)
	if err != nil {
		return err
	}
	defer logitsOut.Close()
	logits, err := torch.ToSlice[float32](logitsOut.Logits)
	if err != nil {
		return err
	}
	n := clf.Config.NumLabels()
	fmt.Fprintf(w, "AutoModelForSequenceClassification -> logits: shape %s\n%s\n", shape(logitsOut.Logits.Shape()), rows(logits, n, "%.4f"))

	fmt.Fprintln(w, "\n== 3. Post-processing: torch.nn.functional.softmax(logits, dim=-1), then config.id2label")
	fn := pipeline.ChooseFunction(clf.Config.ProblemType, n)
	fmt.Fprintf(w, "%s:\n%s\n", fn, floatRows(pipeline.Scores(logits, n, fn), n))
	labels := make([]string, n)
	for i := range labels {
		labels[i] = fmt.Sprintf("%d: '%s'", i, clf.Config.Label(i))
	}
	fmt.Fprintf(w, "id2label: {%s}\n", strings.Join(labels, ", "))
	results := pipeline.Postprocess(logits, n, clf.Config.Label, fn, 1)
	flat := make([]pipeline.Result, len(results))
	for i, r := range results {
		flat[i] = r[0]
	}
	b, err := json.Marshal(flat)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", b)
	return nil
}

func randomWeights(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	return err == nil && strings.Contains(string(b), "random-weights")
}

func shape(s []int64) string { return strings.ReplaceAll(fmt.Sprint(s), " ", ", ") }

// rows prints a row-major matrix one row a line, as the course shows tensors.
func rows[T any](v []T, cols int, format string) string {
	var b strings.Builder
	for r := 0; r*cols < len(v); r++ {
		b.WriteString("  [")
		for j, x := range v[r*cols : (r+1)*cols] {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, format, x)
		}
		b.WriteString("]\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func intRows(v []int64, cols int) string { return rows(v, cols, "%d") }

func floatRows(v []float32, cols int) string { return rows(v, cols, "%.4e") }
