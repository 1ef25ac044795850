// Package pipeline runs Hugging Face tasks end to end the way transformers'
// pipeline() does: preprocess (tokenize) → forward (the model through
// libtorch) → postprocess (softmax/sigmoid, id2label, top-k, entity
// grouping, span decoding).
//
//	clf, err := pipeline.NewTextClassification(ctx, pipeline.WithModel("distilbert-base-uncased-finetuned-sst-2-english"))
//	results, err := clf.Run(ctx, "I've been waiting for a HuggingFace course my whole life.", "I hate this so much!")
//	fmt.Println(results) // [[{POSITIVE 0.9598}] [{NEGATIVE 0.9995}]]
//
// A tokenizer and model already loaded (hf.AutoTokenizer,
// hf.AutoModelForSequenceClassification, hf.AutoModel) make a pipeline with
// NewTextClassificationFrom or NewFeatureExtractionFrom, as transformers'
// pipeline(task, model=model, tokenizer=tokenizer) does.
//
// # Typed pipelines and per-call options
//
// Each task has its own type with a typed Run, made by its constructor
// (NewTokenClassification returns a *TokenClassification whose Run returns
// [][]Entity); [New] makes a pipeline from a task name, and [NewAs] does so
// returning the concrete type. Every pipeline also has RunAny (inputs and
// results as any) for code that chooses the task at run time.
//
// Transformers' call keywords are call options, given per call after the
// inputs, or at construction with [WithDefaults]:
//
//	ner, err := pipeline.NewTokenClassification(ctx, pipeline.WithModel(dir),
//		pipeline.WithDefaults(pipeline.AggregationStrategy(pipeline.AggregateSimple)))
//	entities, err := ner.Run(ctx, texts)                                          // simple
//	entities, err = ner.Run(ctx, texts, pipeline.AggregationStrategy(pipeline.AggregateFirst)) // this call only
//	answers, err := qa.Run(ctx, []pipeline.QAInput{{Question: q, Context: c}}, pipeline.TopK(3), pipeline.MaxAnswerLen(30))
//
// The pattern every task follows (one file per task, pipeline/<task>.go):
//   - a settings struct named <Task>Settings holding the task's call
//     keywords with transformers' defaults, and a check() error method for
//     values that need the model or each other;
//   - one exported function per keyword returning a [CallOption], named as
//     the keyword in Go case (top_k → TopK, doc_stride → DocStride), made
//     with callOption[<Task>Settings]("doc_stride", func(s *<Task>Settings) {...});
//     keywords several tasks share live in call.go and set the settings
//     through a small interface (TopK: setTopK);
//   - Run(ctx, inputs []In, opts ...CallOption) ([]Out, error): the
//     constructor's settings (with WithDefaults applied) copied, the call's
//     options applied by applyCall, which returns an error naming any
//     option the task does not take; results in input order, one per input;
//   - RunAny, Task and Close for [Pipeline], and an entry in registry.go.
//
// Each stage is exported so it can be tested and timed alone. Pipelines are
// safe for concurrent use. When a call's context ends, the call returns at
// once with its error: no further batch starts, and a forward pass already
// in libtorch finishes in the background with its output dropped.
package pipeline
