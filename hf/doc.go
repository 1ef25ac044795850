// Package hf loads Hugging Face models the way transformers does, by Hub
// repo id or local folder: [AutoConfig] reads config.json, [AutoTokenizer]
// the tokenizer files, and [AutoModel] / [AutoModelForSequenceClassification]
// (and the other heads, or [LoadModel] for any head) the checkpoint itself.
// All of them take the same [Option]s and use [ResolveModel], which maps an
// id to a local snapshot folder through the hub cache shared with Python
// (see package hub).
//
//	tok, err := hf.AutoTokenizer.FromPretrained(ctx, "distilbert-base-uncased-finetuned-sst-2-english")
//	model, err := hf.AutoModelForSequenceClassification.FromPretrained(ctx, "distilbert-base-uncased-finetuned-sst-2-english", hf.WithDevice(torch.CUDA(0)))
//	out, err := model.Forward(ctx, batch) // out.Logits: [batch, num_labels]
//
// Models of the architectures in [NativeModelTypes] (BERT, DistilBERT,
// RoBERTa, XLM-RoBERTa, CamemBERT, ELECTRA, MPNet, DeBERTa-v2/v3,
// ModernBERT) run natively: model.safetensors (sharded or not) is
// memory-mapped and used in place, pytorch_model.bin is read by a
// restricted unpickler, and the binding's C++ runs the same ATen operations
// in the same order as transformers' modeling code, so outputs are bitwise
// those of eager transformers on the same machine. No Python is involved.
// [WithFast] trades that exactness for speed on the CPU.
//
// A TorchScript export (hfpipe-{head}-{device}-{dtype}.pt, made by
// third_party/tools/export.py) is loaded with [WithTorchScript], or when a
// folder holds only an export. An export is refused when it was traced by
// another torch release (major.minor.patch; a "+cu128" suffix does not
// count) than the libtorch the program runs ([ErrTorchVersion]): re-export
// it with the matching torch, or build against the matching libtorch.
//
// With HF_HUB_OFFLINE=1 (or [WithOffline]) nothing touches the network and a
// model must already be in the cache.
package hf
