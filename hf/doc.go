// Package hf loads Hugging Face models the way transformers does, by Hub
// repo id or local folder: [AutoConfig] reads config.json, [AutoTokenizer]
// the tokenizer files, and [AutoModel] / [AutoModelForSequenceClassification]
// a TorchScript export of the checkpoint (hfpipe-{head}-{device}-{dtype}.pt,
// made by third_party/tools/export.py) through libtorch. All of them take the
// same [Option]s and use [ResolveModel], which maps an id to a local
// snapshot folder through the hub cache shared with Python (see package hub).
//
//	tok, err := hf.AutoTokenizer.FromPretrained(ctx, "distilbert-base-uncased-finetuned-sst-2-english")
//	model, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, "distilbert-base-uncased-finetuned-sst-2-english", hf.WithDevice(torch.CUDA(0)))
//	out, err := model.Forward(ctx, batch) // out.Logits: [batch, num_labels]
//
// An export is refused when it was traced by another torch release
// (major.minor.patch; a "+cu128" suffix does not count) than the libtorch
// the program runs ([ErrTorchVersion]): re-export it with the matching torch,
// or build against the matching libtorch.
//
// With HF_HUB_OFFLINE=1 (or [WithOffline]) nothing touches the network and a
// model must already be in the cache.
package hf
