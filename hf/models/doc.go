// Package models describes the architectures hfpipe runs natively: for each
// config.json model_type, the C++ architecture of the shim that computes it
// (torch/csrc/native, the same ATen operations in the same order as the
// pinned transformers' modeling code), the heads transformers defines for
// it, the config entries that architecture reads (with the defaults of
// transformers' config class, since save_pretrained omits values equal to
// them), and how checkpoint tensor names map onto the names it reads.
//
// It is pure Go: loading the weights and building the model is package
// hf's job.
package models
