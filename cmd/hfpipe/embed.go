package main

import (
	"context"
	"flag"
	"io"

	"github.com/hfpipe/hfpipe/pipeline"
)

func init() {
	registerSubcommand(&subcommand{name: "sentence-embeddings", summary: "sentence embeddings as sentence-transformers encode: texts in, vectors out", run: runEmbed})
	registerSubcommand(&subcommand{name: "embed", summary: "the same as sentence-embeddings", run: runEmbed})
}

// embedInput is one JSONL input line of `hfpipe embed`.
type embedInput struct {
	Text string `json:"text"`
}

// embedOutput is one output line.
type embedOutput struct {
	Text      string    `json:"text"`
	Embedding []float32 `json:"embedding"`
}

func runEmbed(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	streamFlags(fs, &c, pipeline.DefaultSentenceEmbeddingModel, 8)
	normalize := fs.Bool("normalize", false, "L2-normalise the embeddings (encode's normalize_embeddings; a Normalize module in the folder already does)")
	prompt := fs.String("prompt", "", "text put before every input (encode's prompt)")
	promptName := fs.String("prompt-name", "", "one of the model's prompts (config_sentence_transformers.json)")
	inputs, err := parseTask("embed", "One embedding per input, as sentence-transformers' encode computes it.\nInput: texts as arguments, or lines of {\"text\": ...} (or plain text). Output: {\"text\", \"embedding\"} per line.", fs, args, stderr)
	if err != nil {
		return err
	}
	opts, err := c.taskOptions()
	if err != nil {
		return err
	}
	var call []pipeline.CallOption
	if *normalize {
		call = append(call, pipeline.NormalizeEmbeddings(true))
	}
	if flagSet(fs, "prompt") {
		call = append(call, pipeline.Prompt(*prompt))
	}
	if *promptName != "" {
		call = append(call, pipeline.PromptName(*promptName))
	}
	p, err := pipeline.NewSentenceEmbedding(ctx, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	out := newJSONLWriter(stdout, stderr)
	err = eachChunk(c.file, inputs, stdin, func(ls []line) error {
		texts := make([]string, len(ls))
		for i, l := range ls {
			var in embedInput
			if err := decodeLine(l, &in, func(s string) { in.Text = s }); err != nil {
				return err
			}
			texts[i] = in.Text
		}
		res, err := p.Run(ctx, texts, call...)
		if err != nil {
			return err
		}
		for i, e := range res {
			if err := out.write(embedOutput{Text: texts[i], Embedding: e}); err != nil {
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

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
