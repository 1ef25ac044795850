package pipeline_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"testing"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/pipeline"
)

// exampleModel stands in for a Hub id such as
// "distilbert-base-uncased-finetuned-sst-2-english" (no Hub here): the
// random-initialised 2-layer test model, built before the examples run. Its
// labels are arbitrary but fixed by its seed, so the outputs below are what
// that model gives, not sentiment.
var exampleModel string

func TestMain(m *testing.M) {
	dir, err := testenv.BuildModel(testenv.SmallModel)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exampleModel = dir
	os.Exit(m.Run())
}

func ExampleNewTextClassification() {
	ctx := context.Background()
	clf, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(exampleModel))
	if err != nil {
		log.Fatal(err)
	}
	defer clf.Close()
	results, err := clf.Run(ctx, "I've been waiting for a HuggingFace course my whole life.", "I hate this so much!")
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Printf("%s %.4f\n", r[0].Label, r[0].Score)
	}
	// Output:
	// POSITIVE 0.9486
	// NEGATIVE 0.9508
}

func ExampleNew() {
	ctx := context.Background()
	p, err := pipeline.New(ctx, "sentiment-analysis", pipeline.WithModel(exampleModel), pipeline.WithTopK(pipeline.AllLabels))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	results, err := p.(*pipeline.TextClassification).Run(ctx, "I hate this so much!")
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results[0] {
		fmt.Printf("%s %.4f\n", r.Label, r.Score)
	}
	// Output:
	// NEGATIVE 0.9508
	// POSITIVE 0.0492
}

// A tokenizer and model loaded once can serve several pipelines, as
// transformers' pipeline(task, model=model, tokenizer=tokenizer) does. The
// caller keeps the model and closes it; closing the pipelines leaves it open.
func ExampleNewTextClassificationFrom() {
	ctx := context.Background()
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, exampleModel)
	if err != nil {
		log.Fatal(err)
	}
	model, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, exampleModel)
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()

	best, err := pipeline.NewTextClassificationFrom(tok, model)
	if err != nil {
		log.Fatal(err)
	}
	all, err := pipeline.NewTextClassificationFrom(tok, model, pipeline.WithTopK(pipeline.AllLabels))
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range []*pipeline.TextClassification{best, all} {
		results, err := p.Run(ctx, "I hate this so much!")
		if err != nil {
			log.Fatal(err)
		}
		var labels []string
		for _, r := range results[0] {
			labels = append(labels, fmt.Sprintf("%s %.4f", r.Label, r.Score))
		}
		fmt.Println(strings.Join(labels, ", "))
	}
	// Output:
	// NEGATIVE 0.9508
	// NEGATIVE 0.9508, POSITIVE 0.0492
}

func ExampleNewFeatureExtraction() {
	ctx := context.Background()
	fe, err := pipeline.NewFeatureExtraction(ctx, pipeline.WithModel(exampleModel))
	if err != nil {
		log.Fatal(err)
	}
	defer fe.Close()
	features, err := fe.Run(ctx, "I hate this so much!")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d tokens x %d hidden\n", len(features[0]), len(features[0][0]))
	// Output: 8 tokens x 768 hidden
}

// The model's counters split forward time into libtorch's compute and the
// binding's share around it, e.g. for a metrics endpoint.
func ExampleTextClassification_stats() {
	ctx := context.Background()
	clf, err := pipeline.NewTextClassification(ctx, pipeline.WithModel(exampleModel), pipeline.WithBatchSize(2))
	if err != nil {
		log.Fatal(err)
	}
	defer clf.Close()
	if _, err := clf.Run(ctx, "one", "two", "three"); err != nil {
		log.Fatal(err)
	}
	st := clf.Model.Stats()
	fmt.Println("forward passes:", st.Forwards)
	fmt.Println("binding share known:", st.CallTime >= st.ComputeTime && st.ComputeTime > 0)
	// Output:
	// forward passes: 2
	// binding share known: true
}
