// Package serve is an HTTP inference server for hfpipe pipelines that speaks
// the API of Hugging Face's text-embeddings-inference (TEI) and the Hugging
// Face inference API, so that TEI's clients and
// huggingface_hub.InferenceClient(base_url=...) work unchanged.
//
//	clf, _ := pipeline.NewTextClassification(ctx, pipeline.WithModel(dir))
//	srv, _ := serve.New(clf)
//	defer srv.Close()
//	mux := http.NewServeMux()
//	srv.Register(mux) // POST /predict, /rerank, /tokenize, /decode, /; GET /info, /health, /metrics
//	http.ListenAndServe(":8080", mux)
//
// Requests are tokenized in their own goroutines and their rows (one per
// input) join a single queue. One batching goroutine takes rows from the
// queue, oldest first, until a token budget (WithMaxBatchTokens, TEI's
// --max-batch-tokens) is spent, groups them by length into forward passes
// so that little compute goes to padding, runs the passes through the
// pipeline's exported Forward stage and hands each row's output back to its
// request, in the request's input order. While a batch runs, new rows wait:
// under load batches fill up by themselves, and an idle server answers a
// lone request at once (there is no batching delay).
//
// Backpressure is TEI's: at most WithMaxConcurrentRequests inputs are
// admitted at a time and the rest get 429 at once, so memory stays bounded
// however many clients there are. Bodies over WithPayloadLimit get 413,
// invalid inputs 422 (400 for empty ones), all with TEI's error JSON
// {"error": "...", "error_type": "Validation"}. A request whose client goes
// away, or whose WithRequestTimeout passes, leaves the queue: its rows are
// dropped from the next batch if that batch has not started.
//
// Scores and embeddings are the pipeline's: logits go through the
// pipeline's own post-processing, hidden states through mean or CLS pooling
// (TEI's --pooling). Metrics follow TEI's names (te_request_duration,
// te_queue_size, te_batch_next_size, ...) in Prometheus' text format.
package serve
