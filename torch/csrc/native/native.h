// Native architectures: Hugging Face encoder models executed over ATen with
// the same operations, in the same order and on the same weight memory as
// the pinned transformers' modeling code, so that their outputs are bitwise
// those of eager transformers. One file per architecture family registers
// its builder; the Go side (hf/models) maps config.json and checkpoint names
// onto what the builders read.
#ifndef HFPIPE_NATIVE_H
#define HFPIPE_NATIVE_H

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace hfpipe {
namespace native {

// Config is the flat key=value description the Go side hands over: numbers
// as decimal strings, booleans as "true"/"false".
class Config {
 public:
  explicit Config(std::map<std::string, std::string> kv) : kv_(std::move(kv)) {}
  bool has(const std::string &key) const { return kv_.count(key) != 0; }
  std::string str(const std::string &key) const;
  std::string str(const std::string &key, const std::string &dflt) const;
  int64_t integer(const std::string &key) const;
  int64_t integer(const std::string &key, int64_t dflt) const;
  double real(const std::string &key) const;
  double real(const std::string &key, double dflt) const;
  bool boolean(const std::string &key, bool dflt) const;

 private:
  std::map<std::string, std::string> kv_;
};

// Fast selects fast mode's kernels for the linear layers (hf.WithFast):
// they change the numbers slightly for speed, so a fast model is no longer
// bitwise equal to eager transformers. Off is exact mode.
enum class Fast {
  Off,
  // bfloat16 matrix products over oneDNN-packed bfloat16 weights (converted
  // once at load); inputs rounded to bfloat16, outputs back to float32.
  // Everything else (embeddings, layer norm, softmax, attention, GELU,
  // residual sums) stays float32, as autocast would keep most of it.
  BFloat16,
  // int8 dynamic quantisation (fbgemm's quantized::linear_dynamic):
  // weights quantised per output channel once at load, activations per
  // tensor at each call.
  Int8,
  // float32 matrix products over oneDNN-packed float32 weights: the same
  // precision, another summation order.
  Float32Packed,
  // BFloat16 for the feed-forward blocks' two layers (two thirds of an
  // encoder layer's multiply-adds), Float32Packed for every other layer
  // (attention projections, pooler, head transforms): about half
  // BFloat16's error for most of its speed.
  BFloat16FFN,
};
// parse_fast maps "", "bf16", "bf16-ffn", "int8" and "f32-packed" onto Fast.
Fast parse_fast(const std::string &s);

// Weights are the checkpoint's tensors by name, already moved to the model's
// device and dtype (tensors that need neither stay where they are: a
// memory-mapped file's tensors are used in place).
class Weights {
 public:
  Weights(std::unordered_map<std::string, at::Tensor> w, Fast fast = Fast::Off) : w_(std::move(w)), fast_(fast) {}
  // The fast-mode kernels linear() prepares its layers for.
  Fast fast() const { return fast_; }
  bool has(const std::string &name) const { return w_.count(name) != 0; }
  // The tensor called name; throws naming it (and the shape wanted) when the
  // checkpoint lacks it or its shape differs.
  at::Tensor get(const std::string &name, at::IntArrayRef shape) const;
  at::Tensor get(const std::string &name) const;
  size_t nbytes() const;

 private:
  std::unordered_map<std::string, at::Tensor> w_;
  Fast fast_ = Fast::Off;
};

// Inputs of one forward pass: [batch, seq] int64 tensors on the model's
// device (token_type_ids may be undefined); multiple-choice heads take
// [batch, choices, seq].
struct Inputs {
  at::Tensor input_ids, attention_mask, token_type_ids;
};

// flatten_choices prepares the inputs of a forward pass: a multiple-choice
// head takes [batch, choices, seq] and runs the model on [batch*choices,
// seq] (ForMultipleChoice's input_ids.view(-1, input_ids.size(-1)), for
// every input given); every head then needs 2-D input_ids. It returns the
// number of choices (0 for other heads).
int64_t flatten_choices(const std::string &head, Inputs &in);

// Cancel is checked between layers; a set flag ends the pass with an error.
void check_cancel(const std::atomic<bool> *cancel);

class Model {
 public:
  virtual ~Model() = default;
  // Runs the model under the caller's InferenceMode and returns the head's
  // outputs in transformers' order (base: last_hidden_state[, pooler_output];
  // question answering: start_logits, end_logits; others: logits).
  virtual std::vector<at::Tensor> forward(const Inputs &in, const std::atomic<bool> *cancel) = 0;
  // The names of the inputs forward reads, in the order the caller passes
  // them: input_ids, attention_mask[, token_type_ids].
  virtual std::vector<std::string> input_names() const = 0;
};

using Builder = std::function<std::unique_ptr<Model>(const Config &, const Weights &)>;

// Registers a builder for an architecture name (a static Registration in the
// architecture's file).
struct Registration {
  Registration(const std::string &arch, Builder b);
};
std::unique_ptr<Model> build(const std::string &arch, const Config &cfg, const Weights &w);
std::vector<std::string> architectures();

// ---- building blocks, each the op sequence of the transformers module named ----

struct Linear {  // nn.Linear
  at::Tensor weight, bias;
  // Fast mode (Weights::fast): the weight in the kernels' own layout
  // (weight is then undefined); Off runs at::linear as transformers does.
  Fast fast = Fast::Off;
  at::Tensor packed, packed_bias;  // oneDNN-packed weight and its bias (BFloat16, Float32Packed)
  c10::IValue qparams;             // fbgemm's packed int8 weight and bias (Int8)
  at::Tensor operator()(const at::Tensor &x) const { return fast == Fast::Off ? at::linear(x, weight, bias) : fast_forward(x); }
  at::Tensor fast_forward(const at::Tensor &x) const;
};
// prepare_fast repacks a float32 CPU layer for fast's kernels; layers with
// fewer than 32 outputs (classifier heads: cheap, and their outputs are
// the scores) stay as they are.
// prefix is the layer's weight name (for BFloat16FFN: is_feed_forward).
void prepare_fast(Linear &l, Fast fast, const std::string &prefix);
// is_feed_forward tells the feed-forward layers of the architectures here
// by their weight names: BERT's family and MPNet's intermediate.dense and
// output.dense (not attention.output.dense), DistilBERT's ffn.lin1/lin2,
// ModernBERT's mlp.Wi/Wo.
bool is_feed_forward(const std::string &prefix);
Linear linear(const Weights &w, const std::string &prefix, int64_t out, int64_t in, bool bias = true);

struct LayerNorm {  // nn.LayerNorm
  at::Tensor weight, bias;
  double eps;
  at::Tensor operator()(const at::Tensor &x) const {
    return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
  }
};
// bias=false: nn.LayerNorm(..., bias=False), no bias tensor read.
LayerNorm layer_norm(const Weights &w, const std::string &prefix, int64_t dim, double eps, bool bias = true);

// nn.Embedding's forward (padding_idx only matters for gradients).
inline at::Tensor embed(const at::Tensor &weight, const at::Tensor &ids) { return at::embedding(weight, ids); }

// transformers' ACT2FN[name] (activations.py), op for op.
struct Activation {
  std::function<at::Tensor(const at::Tensor &)> fn;
  // The same ATen kernel writing into its input (gelu_, relu_, ...), where
  // there is one: the values are the same bits, without a fresh tensor.
  std::function<void(at::Tensor &)> inplace;

  Activation() = default;
  explicit Activation(std::function<at::Tensor(const at::Tensor &)> f, std::function<void(at::Tensor &)> g = nullptr)
      : fn(std::move(f)), inplace(std::move(g)) {}
  at::Tensor operator()(const at::Tensor &x) const { return fn(x); }
  // consume applies the activation to x, a temporary nothing else holds,
  // in place where it can.
  at::Tensor consume(at::Tensor x) const {
    if (!inplace) return fn(x);
    inplace(x);
    return x;
  }
};
Activation activation(const std::string &name);

// torch.finfo(dtype).min
double finfo_min(at::ScalarType t);

// AttentionMaskConverter._expand_mask (and _prepare_4d_attention_mask):
// [b, 1, tgt, src] with 0 where attended and finfo.min elsewhere, also when
// every position is attended.
at::Tensor expand_mask(const at::Tensor &mask, at::ScalarType dtype, int64_t tgt_len);
// modeling_attn_mask_utils._prepare_4d_attention_mask_for_sdpa: undefined
// (no mask) when every position is attended, else [b, 1, tgt, src] with 0
// where attended and finfo.min elsewhere.
at::Tensor sdpa_mask(const at::Tensor &mask, at::ScalarType dtype, int64_t tgt_len);
// ModuleUtilsMixin.get_extended_attention_mask for an encoder: [b, 1, 1, src].
at::Tensor extended_mask(const at::Tensor &mask, at::ScalarType dtype);

// torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask).
at::Tensor sdpa(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask);

// QA heads: logits.split(1, dim=-1), each .squeeze(-1).contiguous().
std::vector<at::Tensor> split_span_logits(const at::Tensor &logits);

}  // namespace native
}  // namespace hfpipe

#endif
