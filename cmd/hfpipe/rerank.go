package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/hfpipe/hfpipe/pipeline"
)

func init() {
	registerSubcommand(&subcommand{name: "text-ranking", summary: "rerank documents for a query with a cross-encoder (TEI /rerank shape)", run: runRerank})
	registerSubcommand(&subcommand{name: "rerank", summary: "the same as text-ranking", run: runRerank})
}

// rerankInput is one JSONL input line of `hfpipe rerank` (TEI's /rerank
// request: "texts" is taken for "documents").
type rerankInput struct {
	Query     string   `json:"query"`
	Documents []string `json:"documents"`
	Texts     []string `json:"texts"`
}

// rerankOutput is one output line.
type rerankOutput struct {
	Query   string            `json:"query"`
	Results []pipeline.Ranked `json:"results"`
}

func runRerank(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("rerank", flag.ContinueOnError)
	streamFlags(fs, &c, pipeline.DefaultRerankModel, pipeline.DefaultRerankBatchSize)
	topK := fs.Int("top-k", 0, "keep the k best documents (default: all)")
	returnDocs := fs.Bool("return-documents", false, "put each document's text in its result")
	raw := fs.Bool("raw-scores", false, "the logits, without the model's activation (TEI's raw_scores)")
	query := fs.String("query", "", "with documents as arguments or plain lines: the query to rank them for")
	inputs, err := parseTask("rerank", "Ranks documents for a query, best first, as sentence-transformers' CrossEncoder.rank (TEI's /rerank).\nInput: lines of {\"query\": ..., \"documents\": [...]}; or --query Q with documents as arguments.\nOutput: {\"query\", \"results\": [{\"index\", \"score\", \"text\"?}]} per line.", fs, args, stderr)
	if err != nil {
		return err
	}
	opts, err := c.taskOptions()
	if err != nil {
		return err
	}
	call := []pipeline.CallOption{pipeline.ReturnDocuments(*returnDocs)}
	if *topK > 0 {
		call = append(call, pipeline.TopK(*topK))
	} else if *topK < 0 {
		return fmt.Errorf("--top-k %d: want a number >= 1 (0: all)", *topK)
	}
	if *raw {
		call = append(call, pipeline.ActivationFn(pipeline.ActivationIdentity))
	}
	p, err := pipeline.NewReranker(ctx, opts...)
	if err != nil {
		return err
	}
	defer p.Close()
	out := newJSONLWriter(stdout, stderr)
	if flagSet(fs, "query") {
		// One query, the documents from the arguments or the lines.
		var docs []string
		if err := eachChunk(c.file, inputs, stdin, func(ls []line) error {
			for _, l := range ls {
				docs = append(docs, l.text)
			}
			return nil
		}); err != nil {
			return err
		}
		res, err := p.Rank(ctx, *query, docs, call...)
		if err != nil {
			return err
		}
		if err := out.write(rerankOutput{Query: *query, Results: res}); err != nil {
			return err
		}
		return out.close()
	}
	err = eachChunk(c.file, inputs, stdin, func(ls []line) error {
		batch := make([]pipeline.RerankInput, len(ls))
		for i, l := range ls {
			var in rerankInput
			if err := decodeLine(l, &in, nil); err != nil {
				return fmt.Errorf("%w (a {\"query\": ..., \"documents\": [...]} object; or give --query)", err)
			}
			if in.Documents == nil {
				in.Documents = in.Texts
			}
			if len(in.Documents) == 0 {
				return fmt.Errorf("line %d: no documents to rank (\"documents\": [...])", l.n)
			}
			batch[i] = pipeline.RerankInput{Query: in.Query, Documents: in.Documents}
		}
		res, err := p.Run(ctx, batch, call...)
		if err != nil {
			return err
		}
		for i, r := range res {
			if err := out.write(rerankOutput{Query: batch[i].Query, Results: r}); err != nil {
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
