package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hfpipe/hfpipe/pipeline"
)

func init() {
	registerSubcommand(&subcommand{name: "question-answering", summary: "extractive QA: {\"question\", \"context\"} lines in, answers out", run: runQA})
	registerSubcommand(&subcommand{name: "qa", summary: "the same as question-answering", run: runQA})
}

type qaRow struct {
	pipeline.QAInput
	Answers []pipeline.Answer `json:"answers"`
}

func runQA(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newTaskFlags("question-answering", stderr, "Answers each question from its context (JSON lines {\"question\": ..., \"context\": ...}, or\n--question and --context) and writes the input with \"answers\": [...], as transformers'\nquestion-answering pipeline.")
	question := fs.String("question", "", "one question (with --context) instead of input lines")
	context_ := fs.String("context", "", "the context of --question")
	topK := fs.Int("top-k", 1, "answers per question")
	docStride := fs.Int("doc-stride", pipeline.Auto, "overlap of a long context's chunks (default: min(max-seq-len/2, 128))")
	maxSeqLen := fs.Int("max-seq-len", pipeline.Auto, "tokens per question+context chunk (default: min(model_max_length, 384))")
	maxAnswerLen := fs.Int("max-answer-len", 15, "longest answer in tokens")
	impossible := fs.Bool("handle-impossible-answer", false, "let the empty answer compete")
	align := fs.Bool("align-to-words", true, "widen answers to whole words")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	opts, err := c.options(pipeline.TopK(*topK), pipeline.DocStride(*docStride), pipeline.MaxSeqLen(*maxSeqLen),
		pipeline.MaxAnswerLen(*maxAnswerLen), pipeline.HandleImpossibleAnswer(*impossible), pipeline.AlignToWords(*align))
	if err != nil {
		return err
	}
	var inputs []pipeline.QAInput
	switch {
	case *question != "" || *context_ != "":
		if len(fs.Args()) > 0 || c.file != "" {
			return errors.New("give --question and --context, or input lines, not both")
		}
		inputs = []pipeline.QAInput{{Question: *question, Context: *context_}}
	default:
		lines, err := readLines(c.file, fs.Args(), stdin)
		if err != nil {
			return err
		}
		for _, l := range lines {
			var in pipeline.QAInput
			if l.text || json.Unmarshal(l.data, &in) != nil {
				return fmt.Errorf("%s: want a JSON object {\"question\": ..., \"context\": ...}", l.at)
			}
			inputs = append(inputs, in)
		}
	}
	p, err := pipeline.NewQuestionAnswering(ctx, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	return runChunks(inputs, func(part []pipeline.QAInput) ([]any, error) {
		res, err := p.Run(ctx, part)
		if err != nil {
			return nil, err
		}
		rows := make([]any, len(part))
		for i := range part {
			rows[i] = qaRow{QAInput: part[i], Answers: res[i]}
		}
		return rows, nil
	}, stdout, stderr, c.file != "" && isTerminal(stdout))
}
