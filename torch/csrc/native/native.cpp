// Shared parts of the native architectures: config and weight access, the
// registry, and the building blocks several architectures use.
#include "native.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include <cmath>
#include <limits>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace hfpipe {
namespace native {

std::string Config::str(const std::string &key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) throw std::runtime_error("native model config lacks " + key);
  return it->second;
}

std::string Config::str(const std::string &key, const std::string &dflt) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? dflt : it->second;
}

int64_t Config::integer(const std::string &key) const {
  const std::string s = str(key);
  size_t pos = 0;
  int64_t v = 0;
  try {
    v = std::stoll(s, &pos);
  } catch (const std::exception &) {
    pos = 0;
  }
  if (pos == 0 || pos != s.size()) throw std::runtime_error("native model config: " + key + "=" + s + " is not an integer");
  return v;
}

int64_t Config::integer(const std::string &key, int64_t dflt) const { return has(key) ? integer(key) : dflt; }

double Config::real(const std::string &key) const {
  const std::string s = str(key);
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (const std::exception &) {
    pos = 0;
  }
  if (pos == 0 || pos != s.size()) throw std::runtime_error("native model config: " + key + "=" + s + " is not a number");
  return v;
}

double Config::real(const std::string &key, double dflt) const { return has(key) ? real(key) : dflt; }

bool Config::boolean(const std::string &key, bool dflt) const {
  if (!has(key)) return dflt;
  const std::string s = str(key);
  if (s == "true") return true;
  if (s == "false") return false;
  throw std::runtime_error("native model config: " + key + "=" + s + " is not true or false");
}

static std::string shape_string(at::IntArrayRef s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

at::Tensor Weights::get(const std::string &name) const {
  auto it = w_.find(name);
  if (it == w_.end()) throw std::runtime_error("the checkpoint has no tensor " + name);
  return it->second;
}

at::Tensor Weights::get(const std::string &name, at::IntArrayRef shape) const {
  at::Tensor t = get(name);
  if (t.sizes() != shape) {
    throw std::runtime_error("tensor " + name + " has shape " + shape_string(t.sizes()) + ", the config implies " +
                             shape_string(shape));
  }
  return t;
}

size_t Weights::nbytes() const {
  size_t n = 0;
  for (const auto &kv : w_) n += kv.second.nbytes();
  return n;
}

int64_t flatten_choices(const std::string &head, Inputs &in) {
  int64_t choices = 0;
  if (head == "multiple-choice") {
    if (in.input_ids.dim() != 3) throw std::runtime_error("multiple choice wants input_ids of shape [batch, choices, seq]");
    choices = in.input_ids.size(1);
    for (at::Tensor *t : {&in.input_ids, &in.attention_mask, &in.token_type_ids}) {
      if (t->defined()) *t = t->view({-1, t->size(-1)});
    }
  }
  if (in.input_ids.dim() != 2) throw std::runtime_error("input_ids must be [batch, seq]");
  return choices;
}

void check_cancel(const std::atomic<bool> *cancel) {
  if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) throw std::runtime_error("forward pass cancelled");
}

namespace {
std::mutex &registry_mu() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, Builder> &registry() {
  static auto *r = new std::map<std::string, Builder>();
  return *r;
}
}  // namespace

Registration::Registration(const std::string &arch, Builder b) {
  std::lock_guard<std::mutex> lock(registry_mu());
  registry()[arch] = std::move(b);
}

std::unique_ptr<Model> build(const std::string &arch, const Config &cfg, const Weights &w) {
  Builder b;
  {
    std::lock_guard<std::mutex> lock(registry_mu());
    auto it = registry().find(arch);
    if (it == registry().end()) {
      std::string known;
      for (const auto &kv : registry()) known += (known.empty() ? "" : ", ") + kv.first;
      throw std::runtime_error("no native architecture " + arch + " (the shim has: " + known + ")");
    }
    b = it->second;
  }
  return b(cfg, w);
}

std::vector<std::string> architectures() {
  std::lock_guard<std::mutex> lock(registry_mu());
  std::vector<std::string> out;
  for (const auto &kv : registry()) out.push_back(kv.first);
  return out;
}

Linear linear(const Weights &w, const std::string &prefix, int64_t out, int64_t in, bool bias) {
  Linear l;
  l.weight = w.get(prefix + ".weight", {out, in});
  if (bias) l.bias = w.get(prefix + ".bias", {out});
  prepare_fast(l, w.fast(), prefix);
  return l;
}

Fast parse_fast(const std::string &s) {
  if (s.empty()) return Fast::Off;
  if (s == "bf16") return Fast::BFloat16;
  if (s == "int8") return Fast::Int8;
  if (s == "f32-packed") return Fast::Float32Packed;
  if (s == "bf16-ffn") return Fast::BFloat16FFN;
  throw std::runtime_error("fast mode " + s + " is not bf16, bf16-ffn, int8 or f32-packed");
}

namespace {
// An operator that ATen registers outside its native functions (oneDNN's
// and fbgemm's), called boxed.
const c10::OperatorHandle &op(const char *name) {
  // One lookup per operator: the handles live as long as the process.
  static std::mutex mu;
  static auto *handles = new std::map<std::string, c10::OperatorHandle>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = handles->find(name);
  if (it == handles->end()) it = handles->emplace(name, c10::Dispatcher::singleton().findSchemaOrThrow(name, "")).first;
  return it->second;
}

c10::IValue call(const c10::OperatorHandle &h, std::vector<c10::IValue> args) {
  torch::jit::Stack stack(std::move(args));
  h.callBoxed(&stack);
  return std::move(stack.at(0));
}
}  // namespace

bool is_feed_forward(const std::string &prefix) {
  auto ends = [&](const std::string &suffix) {
    return prefix.size() >= suffix.size() && prefix.compare(prefix.size() - suffix.size(), suffix.size(), suffix) == 0 &&
           (prefix.size() == suffix.size() || prefix[prefix.size() - suffix.size() - 1] == '.');
  };
  if (ends("attention.output.dense")) return false;
  for (const char *s : {"intermediate.dense", "output.dense", "ffn.lin1", "ffn.lin2", "mlp.Wi", "mlp.Wo"}) {
    if (ends(s)) return true;
  }
  return false;
}

void prepare_fast(Linear &l, Fast fast, const std::string &prefix) {
  if (fast == Fast::Off || !l.weight.defined() || l.weight.device().type() != at::kCPU ||
      l.weight.scalar_type() != at::kFloat || l.weight.size(0) < 32) {
    return;
  }
  if (fast == Fast::BFloat16FFN) fast = is_feed_forward(prefix) ? Fast::BFloat16 : Fast::Float32Packed;
  switch (fast) {
    case Fast::BFloat16:
    case Fast::Float32Packed: {
      const auto dt = fast == Fast::BFloat16 ? at::kBFloat16 : at::kFloat;
      at::Tensor w = l.weight.to(dt).contiguous();
      l.packed = call(op("mkldnn::_reorder_linear_weight"), {w, c10::IValue()}).toTensor();
      if (l.bias.defined()) l.packed_bias = l.bias.to(dt).contiguous();
      break;
    }
    case Fast::Int8: {
      // Symmetric per-channel int8 (scale = max|row| / 127), as
      // per_channel_dynamic_qconfig's observer would make it.
      at::Tensor scales = (l.weight.abs().amax({1}) / 127.0).clamp_min(1e-12).to(at::kDouble);
      at::Tensor zeros = at::zeros({l.weight.size(0)}, at::TensorOptions().dtype(at::kLong));
      at::Tensor q = at::quantize_per_channel(l.weight.contiguous(), scales, zeros, 0, at::kQInt8);
      l.qparams = call(op("quantized::linear_prepack"), {q, l.bias.defined() ? c10::IValue(l.bias.contiguous()) : c10::IValue()});
      break;
    }
    case Fast::Off:
    case Fast::BFloat16FFN:
      return;
  }
  l.fast = fast;
  l.weight = at::Tensor();
  l.bias = at::Tensor();
}

at::Tensor Linear::fast_forward(const at::Tensor &x) const {
  if (fast == Fast::Int8) {
    // reduce_range as torch.ao's dynamic Linear passes it on x86 (7-bit
    // activations: no saturation in fbgemm's u8*s8 pairwise sums).
    return call(op("quantized::linear_dynamic"), {x.contiguous(), qparams, true}).toTensor();
  }
  const auto dt = fast == Fast::BFloat16 ? at::kBFloat16 : at::kFloat;
  at::Tensor in = x.to(dt).contiguous();
  at::Tensor y = call(op("mkldnn::_linear_pointwise"),
                      {in, packed, packed_bias.defined() ? c10::IValue(packed_bias) : c10::IValue(), std::string("none"),
                       c10::List<std::optional<at::Scalar>>(), c10::IValue()})
                     .toTensor();
  return dt == at::kFloat ? y : y.to(at::kFloat);
}

LayerNorm layer_norm(const Weights &w, const std::string &prefix, int64_t dim, double eps, bool bias) {
  return LayerNorm{w.get(prefix + ".weight", {dim}), bias ? w.get(prefix + ".bias", {dim}) : at::Tensor(), eps};
}

Activation activation(const std::string &name) {
  if (name == "gelu") return Activation([](const at::Tensor &x) { return at::gelu(x); }, [](at::Tensor &x) { at::gelu_(x); });
  if (name == "relu") return Activation([](const at::Tensor &x) { return at::relu(x); }, [](at::Tensor &x) { at::relu_(x); });
  if (name == "silu" || name == "swish") return Activation([](const at::Tensor &x) { return at::silu(x); }, [](at::Tensor &x) { at::silu_(x); });
  if (name == "tanh") return Activation([](const at::Tensor &x) { return at::tanh(x); }, [](at::Tensor &x) { at::tanh_(x); });
  if (name == "sigmoid") return Activation([](const at::Tensor &x) { return at::sigmoid(x); }, [](at::Tensor &x) { at::sigmoid_(x); });
  if (name == "linear") return Activation([](const at::Tensor &x) { return x; });
  if (name == "gelu_pytorch_tanh") {
    return Activation([](const at::Tensor &x) { return at::gelu(x, "tanh"); }, [](at::Tensor &x) { at::gelu_(x, "tanh"); });
  }
  if (name == "gelu_new") {
    // 0.5 * input * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (input + 0.044715 * torch.pow(input, 3.0))))
    return Activation([](const at::Tensor &x) {
      const double c = std::sqrt(2.0 / M_PI);
      return (x * 0.5) * ((at::tanh((x + at::pow(x, 3.0) * 0.044715) * c)) + 1.0);
    });
  }
  if (name == "gelu_python_tanh") {
    // input * 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (input + 0.044715 * torch.pow(input, 3.0))))
    return Activation([](const at::Tensor &x) {
      const double c = std::sqrt(2.0 / M_PI);
      return (x * 0.5) * ((at::tanh((x + at::pow(x, 3.0) * 0.044715) * c)) + 1.0);
    });
  }
  if (name == "gelu_fast") {
    // 0.5 * input * (1.0 + torch.tanh(input * 0.7978845608 * (1.0 + 0.044715 * input * input)))
    return Activation([](const at::Tensor &x) {
      return (x * 0.5) * (at::tanh((x * 0.7978845608) * (((x * 0.044715) * x) + 1.0)) + 1.0);
    });
  }
  if (name == "quick_gelu") return Activation([](const at::Tensor &x) { return x * at::sigmoid(x * 1.702); });
  if (name == "gelu_python") {
    // input * 0.5 * (1.0 + torch.erf(input / math.sqrt(2.0)))
    return Activation([](const at::Tensor &x) { return (x * 0.5) * (at::erf(x / std::sqrt(2.0)) + 1.0); });
  }
  if (name == "gelu_10") return Activation([](const at::Tensor &x) { return at::clip(at::gelu(x), -10, 10); });
  throw std::runtime_error("activation " + name +
                           " is not supported natively (have gelu, gelu_new, gelu_pytorch_tanh, gelu_python, "
                           "gelu_python_tanh, gelu_fast, gelu_10, quick_gelu, relu, silu, swish, tanh, sigmoid, linear)");
}

double finfo_min(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return std::numeric_limits<float>::lowest();
    case at::kDouble:
      return std::numeric_limits<double>::lowest();
    case at::kHalf:
      return -65504.0;
    case at::kBFloat16:
      return static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
    default:
      throw std::runtime_error(std::string("no floating-point minimum for dtype ") + c10::toString(t));
  }
}

at::Tensor sdpa_mask(const at::Tensor &mask, at::ScalarType dtype, int64_t tgt_len) {
  // if not is_tracing and torch.all(mask == 1): return None
  if (at::all(mask == 1).item<bool>()) return at::Tensor();
  return expand_mask(mask, dtype, tgt_len);
}

at::Tensor expand_mask(const at::Tensor &mask, at::ScalarType dtype, int64_t tgt_len) {
  const int64_t bsz = mask.size(0), src_len = mask.size(1);
  at::Tensor expanded = mask.unsqueeze(1).unsqueeze(2).expand({bsz, 1, tgt_len, src_len}).to(dtype);
  // torch.tensor(1.0, dtype=dtype) - expanded_mask
  at::Tensor inverted = at::scalar_tensor(1.0, at::TensorOptions().dtype(dtype)) - expanded;
  return inverted.masked_fill(inverted.to(at::kBool), finfo_min(dtype));
}

at::Tensor extended_mask(const at::Tensor &mask, at::ScalarType dtype) {
  // extended_attention_mask = attention_mask[:, None, None, :]
  at::Tensor ext = mask.unsqueeze(1).unsqueeze(2);
  ext = ext.to(dtype);
  // (1.0 - extended_attention_mask) * torch.finfo(dtype).min
  return at::rsub(ext, 1.0) * finfo_min(dtype);
}

at::Tensor sdpa(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &mask) {
  return at::scaled_dot_product_attention(q, k, v, mask.defined() ? std::optional<at::Tensor>(mask) : std::nullopt,
                                          0.0, false);
}

std::vector<at::Tensor> split_span_logits(const at::Tensor &logits) {
  auto parts = logits.split(1, -1);
  return {parts[0].squeeze(-1).contiguous(), parts[1].squeeze(-1).contiguous()};
}

}  // namespace native
}  // namespace hfpipe
