"""hfpipe Python tools: test-model builder, TorchScript exporter and reference runner.

Python is only a tool for hfpipe: it builds test models, exports Hugging Face
checkpoints to TorchScript and computes the reference numbers the Go tests
compare against. Nothing here runs when hfpipe runs a model.

Modules:
  codec      exact (bitwise) JSON encoding of tensors and floats
  modelgen   random-initialised Hub-like model folders (DistilBERT / BERT)
  exporting  HF checkpoint -> TorchScript (+ metadata), behind an Exporter seam
  reference  TorchScript / eager / pipeline reference outputs as JSON
"""

TOOLS_VERSION = "1"
