// Package pipeline runs Hugging Face tasks end to end the way transformers'
// pipeline() does: preprocess (tokenize) → forward (the TorchScript model
// through libtorch) → postprocess (softmax/sigmoid, id2label, top-k).
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
// Each stage is exported so it can be tested and timed alone. Pipelines are
// safe for concurrent use. When a call's context ends, the call returns at
// once with its error: no further batch starts, and a forward pass already
// in libtorch finishes in the background with its output dropped.
package pipeline
