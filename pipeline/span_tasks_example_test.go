package pipeline_test

import (
	"context"
	"fmt"
	"log"

	"github.com/hfpipe/hfpipe/pipeline"
)

// The models below stand in for Hub ids such as "dslim/bert-base-NER",
// "distilbert-base-cased-distilled-squad" and "distilbert-base-uncased"
// (no Hub here): the real DistilBERT architecture and vocabulary with
// random weights, so the labels and answers are arbitrary but fixed.

func ExampleNewTokenClassification() {
	ctx := context.Background()
	ner, err := pipeline.NewTokenClassification(ctx, pipeline.WithModel(pipeline.SpanTestModel("token-classification")),
		pipeline.WithDefaults(pipeline.AggregationStrategy(pipeline.AggregateSimple)))
	if err != nil {
		log.Fatal(err)
	}
	defer ner.Close()
	text := "My name is Wolfgang and I live in Berlin"
	entities, err := ner.Run(ctx, []string{text})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entities[0] {
		fmt.Printf("%s %q %d:%d %.2f\n", e.EntityGroup, e.Word, e.Start, e.End, e.Score)
	}
	// A per-call option overrides the default for this call only.
	tokens, err := ner.Run(ctx, []string{text}, pipeline.AggregationStrategy(pipeline.AggregateNone))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(tokens[0]), "tokens not labelled O")
	// Output:
	// MISC "my" 0:2 0.64
	// PER "name" 3:7 0.82
	// LOC "is" 8:10 0.83
	// MISC "wolfgang and" 11:23 0.80
	// MISC "i" 24:25 0.76
	// LOC "berlin" 34:40 0.74
	// 7 tokens not labelled O
}

func ExampleNewQuestionAnswering() {
	ctx := context.Background()
	qa, err := pipeline.NewQuestionAnswering(ctx, pipeline.WithModel(pipeline.SpanTestModel("question-answering")))
	if err != nil {
		log.Fatal(err)
	}
	defer qa.Close()
	answers, err := qa.Run(ctx, []pipeline.QAInput{{
		Question: "Where do I live?",
		Context:  "My name is Wolfgang and I live in Berlin",
	}}, pipeline.TopK(2))
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range answers[0] {
		fmt.Printf("%q %d:%d %.4f\n", a.Answer, a.Start, a.End, a.Score)
	}
	// Output:
	// "is Wolfgang and I live in" 8:33 0.6679
	// "in" 31:33 0.1762
}

func ExampleNewFillMask() {
	ctx := context.Background()
	fm, err := pipeline.NewFillMask(ctx, pipeline.WithModel(pipeline.SpanTestModel("fill-mask")))
	if err != nil {
		log.Fatal(err)
	}
	defer fm.Close()
	preds, err := fm.Run(ctx, []string{"Paris is the [MASK] of France."}, pipeline.TopK(3))
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range preds[0][0] { // the first text's first mask
		fmt.Printf("%s %q\n", p.TokenStr, p.Sequence)
	}
	// Output:
	// 1907 "paris is the 1907 of france."
	// invite "paris is the invite of france."
	// structurally "paris is the structurally of france."
}

func ExampleNewAs() {
	ctx := context.Background()
	// The concrete type from a task name: Run is typed, no assertion.
	ner, err := pipeline.NewAs[*pipeline.TokenClassification](ctx, "ner", pipeline.WithModel(pipeline.SpanTestModel("token-classification")))
	if err != nil {
		log.Fatal(err)
	}
	defer ner.Close()
	entities, err := ner.Run(ctx, []string{"Hugging Face Inc. is a company based in New York City."}, pipeline.AggregationStrategy(pipeline.AggregateFirst))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(entities[0]) > 0)
	// Output: true
}
