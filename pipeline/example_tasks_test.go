package pipeline_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"slices"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
)

// taskModel stands in for a Hub id (no Hub here): the random-initialised
// test models of the task pipelines, so scores are arbitrary but fixed.
func taskModel(name string) string {
	dir, err := testenv.TaskModels()
	if err != nil {
		log.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// Sentence embeddings of the real all-MiniLM-L6-v2 (which the Hub id
// "sentence-transformers/all-MiniLM-L6-v2" names), compared by cosine
// similarity: its embeddings are normalised, so that is a dot product.
func ExampleNewSentenceEmbedding() {
	ctx := context.Background()
	folder, err := testenv.MiniLMFolder()
	if err != nil {
		log.Fatal(err)
	}
	p, err := pipeline.NewSentenceEmbedding(ctx, pipeline.WithModel(folder))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	emb, err := p.Run(ctx, []string{"A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."})
	if err != nil {
		log.Fatal(err)
	}
	dot := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	fmt.Println(p.Config.Pooling, p.Config.Normalize, len(emb[0]))
	fmt.Printf("%.2f %.2f\n", dot(emb[0], emb[1]), dot(emb[0], emb[2]))
	// Output:
	// mean true 384
	// 0.76 -0.10
}

// Zero-shot classification: candidate labels and the hypothesis template
// per call, as transformers' keyword arguments (here on the random test
// NLI model, whose scores are near uniform).
func ExampleNewZeroShotClassification() {
	ctx := context.Background()
	p, err := pipeline.NewZeroShotClassification(ctx, pipeline.WithModel(taskModel("nli")))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	res, err := p.Run(ctx, []string{"I have a problem with my iphone that needs to be resolved asap!!"},
		pipeline.CandidateLabels("urgent", "not urgent", "phone"), pipeline.HypothesisTemplate("This text is about {}."))
	if err != nil {
		log.Fatal(err)
	}
	for i, l := range res[0].Labels {
		fmt.Printf("%s %.5f\n", l, res[0].Scores[i])
	}
	// Output:
	// phone 0.33384
	// not urgent 0.33376
	// urgent 0.33240
}

// Reranking with a cross-encoder, as sentence-transformers'
// CrossEncoder.rank: best first, the two best kept (random test model).
func ExampleReranker_Rank() {
	ctx := context.Background()
	p, err := pipeline.NewReranker(ctx, pipeline.WithModel(taskModel("cross-encoder")))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	ranked, err := p.Rank(ctx, "Who wrote 'To Kill a Mockingbird'?", []string{
		"'To Kill a Mockingbird' is a novel by Harper Lee published in 1960.",
		"The novel 'Moby-Dick' was written by Herman Melville.",
		"Harper Lee was born in 1926 in Monroeville, Alabama.",
	}, pipeline.TopK(2), pipeline.ReturnDocuments(true))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range ranked {
		fmt.Printf("%d %.4f %s\n", r.Index, r.Score, r.Text)
	}
	// Output:
	// 2 0.0729 Harper Lee was born in 1926 in Monroeville, Alabama.
	// 0 0.0716 'To Kill a Mockingbird' is a novel by Harper Lee published in 1960.
}

// Text-pair classification (an NLI model's premise and hypothesis) is
// text-classification's RunPairs; Stream and StreamPairs take an iterator,
// for inputs that do not fit in memory.
func ExampleTextClassification_StreamPairs() {
	ctx := context.Background()
	p, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(taskModel("nli")))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	pairs := slices.Values([]tokenizer.Pair{
		{A: "A man inspects the uniform of a figure in some East Asian country.", B: "The man is sleeping."},
		{A: "A soccer game with multiple males playing.", B: "Some men are playing a sport."},
	})
	for res, err := range p.StreamPairs(ctx, pairs) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %.4f\n", res[0].Label, res[0].Score)
	}
	// Output:
	// CONTRADICTION 0.5587
	// CONTRADICTION 0.5503
}
