package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hfpipe/hfpipe/pipeline"
)

func init() {
	registerSubcommand(&subcommand{name: "zero-shot-classification", summary: "zero-shot classification with an NLI model: texts and candidate labels in", run: runZeroShot})
	registerSubcommand(&subcommand{name: "zero-shot", summary: "the same as zero-shot-classification", run: runZeroShot})
}

// zeroShotInput is one JSONL input line of `hfpipe zero-shot`; its own
// candidate_labels, hypothesis_template and multi_label override the flags.
type zeroShotInput struct {
	Text               string   `json:"text"`
	CandidateLabels    []string `json:"candidate_labels"`
	HypothesisTemplate *string  `json:"hypothesis_template"`
	MultiLabel         *bool    `json:"multi_label"`
}

func runZeroShot(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("zero-shot", flag.ContinueOnError)
	streamFlags(fs, &c, pipeline.DefaultZeroShotModel, 8)
	labels := fs.String("labels", "", "comma-separated candidate labels (candidate_labels)")
	template := fs.String("template", pipeline.DefaultHypothesisTemplate, "hypothesis template; {} is the label")
	multi := fs.Bool("multi-label", false, "score each label on its own (multi_label)")
	inputs, err := parseTask("zero-shot", "Scores each input against candidate labels, as transformers' zero-shot-classification pipeline.\nInput: texts as arguments, or lines of {\"text\": ..., \"candidate_labels\": [...]} (or plain text).\nOutput: {\"sequence\", \"labels\", \"scores\"} per line, labels best first.", fs, args, stderr)
	if err != nil {
		return err
	}
	opts, err := c.taskOptions()
	if err != nil {
		return err
	}
	p, err := pipeline.NewZeroShotClassification(ctx, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	base := pipeline.ParseCandidateLabels(*labels)
	out := newJSONLWriter(stdout, stderr)
	err = eachChunk(c.file, inputs, stdin, func(ls []line) error {
		// Lines that share labels, template and multi_label run together.
		type group struct {
			opts []pipeline.CallOption
			rows []int
		}
		groups := map[string]*group{}
		var order []string
		texts := make([]string, len(ls))
		for i, l := range ls {
			var in zeroShotInput
			if err := decodeLine(l, &in, func(s string) { in.Text = s }); err != nil {
				return err
			}
			texts[i] = in.Text
			lab, tpl, ml := base, *template, *multi
			if in.CandidateLabels != nil {
				lab = in.CandidateLabels
			}
			if in.HypothesisTemplate != nil {
				tpl = *in.HypothesisTemplate
			}
			if in.MultiLabel != nil {
				ml = *in.MultiLabel
			}
			if len(lab) == 0 {
				return fmt.Errorf("line %d: no candidate labels: give --labels \"a,b,c\" or \"candidate_labels\" in the line", l.n)
			}
			key := fmt.Sprintf("%q|%q|%v", lab, tpl, ml)
			g, ok := groups[key]
			if !ok {
				g = &group{opts: []pipeline.CallOption{pipeline.CandidateLabels(lab...), pipeline.HypothesisTemplate(tpl), pipeline.MultiLabel(ml)}}
				groups[key] = g
				order = append(order, key)
			}
			g.rows = append(g.rows, i)
		}
		res := make([]pipeline.ZeroShotResult, len(ls))
		for _, k := range order {
			g := groups[k]
			sel := make([]string, len(g.rows))
			for j, r := range g.rows {
				sel[j] = texts[r]
			}
			got, err := p.Run(ctx, sel, g.opts...)
			if err != nil {
				var lines []string
				for _, r := range g.rows[:min(len(g.rows), 5)] {
					lines = append(lines, fmt.Sprint(ls[r].n))
				}
				return fmt.Errorf("lines %s: %w", strings.Join(lines, ","), err)
			}
			for j, r := range g.rows {
				res[r] = got[j]
			}
		}
		for _, r := range res {
			if err := out.write(r); err != nil {
				return err
			}
		}
		return out.chunkDone()
	})
	if err != nil {
		return err
	}
	return out.close()
}
