// ModernBERT, as transformers 4.57's modeling_modernbert.py computes it in
// eval mode under the sdpa and eager attention implementations: padded
// batches as they come (only flash_attention_2 unpads), the modules' plain
// forwards (reference_compile is off: transformers turns it off on the CPU,
// and the compiled variants are the same modules under torch.compile),
// positions 0..seq-1 and the masks ModernBertModel._update_attention_mask
// builds (no caller-given sliding_window_mask or position_ids). Config keys:
//   head, attn (sdpa | eager), hidden_size, num_attention_heads,
//   num_hidden_layers, intermediate_size, vocab_size, hidden_activation,
//   norm_eps, norm_bias, attention_bias, mlp_bias, global_rope_theta,
//   local_rope_theta, global_attn_every_n_layers, local_attention,
//   classifier_pooling (cls | mean), classifier_bias, classifier_activation,
//   decoder_bias, tie_word_embeddings, num_labels
#include "native.h"

#include <cmath>
#include <stdexcept>

namespace hfpipe {
namespace native {
namespace {

// ModernBertRotaryEmbedding with the default rope type (attention_scaling 1).
struct Rotary {
  at::Tensor inv_freq;  // the buffer: float32, made on the CPU at init, then moved with the model

  Rotary() = default;
  // _compute_default_rope_parameters:
  //   1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=torch.float) / dim))
  // where base ** t is torch.pow(base, t) and 1.0 / t is t.reciprocal() * 1.0.
  Rotary(double base, int64_t dim, at::Device device) {
    at::Tensor exps = at::arange(0, dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / dim;
    inv_freq = (at::pow(base, exps).reciprocal() * 1.0).to(device);
  }

  // forward(x, position_ids): cos and sin [batch of position_ids, seq, dim],
  // computed in float32 and cast to x's dtype.
  std::pair<at::Tensor, at::Tensor> operator()(at::ScalarType dtype, const at::Tensor &position_ids) const {
    at::Tensor inv = inv_freq.unsqueeze(0).unsqueeze(2).to(at::kFloat).expand({position_ids.size(0), -1, 1});
    at::Tensor pos = position_ids.unsqueeze(1).to(at::kFloat);
    at::Tensor freqs = at::matmul(inv.to(at::kFloat), pos.to(at::kFloat)).transpose(1, 2);
    at::Tensor emb = at::cat({freqs, freqs}, -1);
    at::Tensor cos = emb.cos() * 1.0;
    at::Tensor sin = emb.sin() * 1.0;
    return {cos.to(dtype), sin.to(dtype)};
  }
};

// rotate_half: cat((-x2, x1), dim=-1) of the halves of the last dimension.
at::Tensor rotate_half(const at::Tensor &x) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor x1 = x.slice(-1, 0, half);
  at::Tensor x2 = x.slice(-1, half);
  return at::cat({at::neg(x2), x1}, -1);
}

struct Layer {  // ModernBertEncoderLayer
  bool has_attn_norm = false;  // layer 0's attn_norm is nn.Identity
  LayerNorm attn_norm{at::Tensor(), at::Tensor(), 0.0}, mlp_norm{at::Tensor(), at::Tensor(), 0.0};
  Linear wqkv, wo;             // ModernBertAttention
  bool local = false;          // sliding-window layer (layer_id % global_attn_every_n_layers != 0)
  Linear wi, mlp_wo;           // ModernBertMLP
};

class ModernBert : public Model {
 public:
  ModernBert(const Config &c, const Weights &w) {
    head_ = c.str("head");
    hidden_ = c.integer("hidden_size");
    heads_ = c.integer("num_attention_heads");
    const int64_t layers = c.integer("num_hidden_layers");
    const int64_t inter = c.integer("intermediate_size");
    const int64_t vocab = c.integer("vocab_size");
    const double eps = c.real("norm_eps");
    const bool norm_bias = c.boolean("norm_bias", false);
    const bool attention_bias = c.boolean("attention_bias", false);
    const bool mlp_bias = c.boolean("mlp_bias", false);
    const int64_t every = c.integer("global_attn_every_n_layers");
    window_ = c.integer("local_attention");
    if (hidden_ <= 0 || heads_ <= 0 || hidden_ % heads_ != 0) {
      throw std::runtime_error("hidden_size " + std::to_string(hidden_) + " is not a multiple of num_attention_heads " +
                               std::to_string(heads_));
    }
    if (every <= 0) throw std::runtime_error("global_attn_every_n_layers must be positive");
    if (window_ < 0) throw std::runtime_error("local_attention must not be negative");
    head_dim_ = hidden_ / heads_;
    const std::string attn = c.str("attn", "sdpa");
    if (attn != "sdpa" && attn != "eager") throw std::runtime_error("attention implementation " + attn + " is not sdpa or eager");
    sdpa_ = attn == "sdpa";

    tok_ = w.get("embeddings.tok_embeddings.weight", {vocab, hidden_});
    emb_norm_ = layer_norm(w, "embeddings.norm", hidden_, eps, norm_bias);
    const double global_theta = c.real("global_rope_theta");
    const double local_theta = c.real("local_rope_theta", global_theta);
    global_rope_ = Rotary(global_theta, head_dim_, tok_.device());
    local_rope_ = Rotary(local_theta, head_dim_, tok_.device());
    act_ = activation(c.str("hidden_activation"));
    for (int64_t i = 0; i < layers; i++) {
      const std::string p = "layers." + std::to_string(i) + ".";
      Layer l;
      if (i != 0) {
        l.attn_norm = layer_norm(w, p + "attn_norm", hidden_, eps, norm_bias);
        l.has_attn_norm = true;
      }
      l.wqkv = linear(w, p + "attn.Wqkv", 3 * hidden_, hidden_, attention_bias);
      l.wo = linear(w, p + "attn.Wo", hidden_, hidden_, attention_bias);
      l.local = i % every != 0;
      l.mlp_norm = layer_norm(w, p + "mlp_norm", hidden_, eps, norm_bias);
      l.wi = linear(w, p + "mlp.Wi", 2 * inter, hidden_, mlp_bias);
      l.mlp_wo = linear(w, p + "mlp.Wo", hidden_, inter, mlp_bias);
      layers_.push_back(std::move(l));
    }
    final_norm_ = layer_norm(w, "final_norm", hidden_, eps, norm_bias);

    pooling_ = c.str("classifier_pooling", "cls");
    if (pooling_ != "cls" && pooling_ != "mean") throw std::runtime_error("classifier_pooling " + pooling_ + " is not cls or mean");
    if (head_ == "base") return;
    // ModernBertPredictionHead: dense -> act -> norm
    head_dense_ = linear(w, "head.dense", hidden_, hidden_, c.boolean("classifier_bias", false));
    head_act_ = activation(c.str("classifier_activation"));
    head_norm_ = layer_norm(w, "head.norm", hidden_, eps, norm_bias);
    const int64_t labels = c.integer("num_labels", 2);
    if (head_ == "sequence-classification" || head_ == "token-classification") {
      classifier_ = linear(w, "classifier", labels, hidden_);
    } else if (head_ == "question-answering") {
      // start_logits, end_logits = logits.split(1, dim=-1) unpacks two
      if (labels != 2) throw std::runtime_error("question answering needs num_labels 2, the config has " + std::to_string(labels));
      classifier_ = linear(w, "classifier", 2, hidden_);
    } else if (head_ == "multiple-choice") {
      classifier_ = linear(w, "classifier", 1, hidden_);
    } else if (head_ == "masked-lm") {
      const bool tie = c.boolean("tie_word_embeddings", true);
      classifier_.weight = tie ? tok_ : w.get("decoder.weight", {vocab, hidden_});
      if (c.boolean("decoder_bias", true)) {
        classifier_.bias = w.get("decoder.bias", {vocab});
        // Tying the output embeddings pads the decoder's bias
        // (PreTrainedModel._tie_or_clone_weights: nn.functional.pad), which
        // leaves it in fresh memory rather than in the file's pages.
        if (tie) classifier_.bias = classifier_.bias.clone();
      }
    } else {
      throw std::runtime_error("modernbert: unknown head " + head_);
    }
  }

  std::vector<std::string> input_names() const override { return {"input_ids", "attention_mask"}; }

  std::vector<at::Tensor> forward(const Inputs &in, const std::atomic<bool> *cancel) override {
    Inputs flat = in;
    const int64_t choices = flatten_choices(head_, flat);
    at::Tensor ids = flat.input_ids, mask = flat.attention_mask;
    const int64_t b = ids.size(0), t = ids.size(1);
    const bool given_mask = mask.defined();
    if (!given_mask) mask = at::ones({b, t}, ids.options().dtype(at::kBool));

    // ModernBertModel.forward (no flash attention): positions, then masks
    at::Tensor position_ids = at::arange(t, ids.options().dtype(at::kLong)).unsqueeze(0);
    const at::ScalarType dtype = tok_.scalar_type();  // self.dtype
    at::Tensor global_mask = expand_mask(mask, dtype, mask.size(1));  // _prepare_4d_attention_mask
    at::Tensor rows = at::arange(global_mask.size(2), at::TensorOptions().dtype(at::kLong)).unsqueeze(0);
    at::Tensor distance = at::abs(rows - rows.t());
    at::Tensor window = (distance <= window_ / 2).unsqueeze(0).unsqueeze(0).to(mask.device());
    at::Tensor sliding_mask = global_mask.masked_fill(window.logical_not(), finfo_min(dtype));

    at::Tensor h = emb_norm_(embed(tok_, ids));  // ModernBertEmbeddings (dropout: identity)
    // Each layer's rotary embedding computes the same cos and sin as the
    // others of its kind (global or local) from the same buffer.
    auto global_cs = global_rope_(h.scalar_type(), position_ids);
    auto local_cs = local_rope_(h.scalar_type(), position_ids);
    for (const auto &l : layers_) {
      check_cancel(cancel);
      // the normed input is a temporary, freed when attention returns, as in Python
      h = h + attention(l, l.has_attn_norm ? l.attn_norm(h) : h, l.local ? local_cs : global_cs,
                        l.local ? sliding_mask : global_mask);
      h = h + mlp(l, l.mlp_norm(h));
    }
    h = final_norm_(h);

    if (head_ == "base") return {h};
    if (head_ == "token-classification") return {classifier_(head(h))};
    if (head_ == "question-answering") return split_span_logits(classifier_(head(h)));
    if (head_ == "masked-lm") return {classifier_(head(h))};
    at::Tensor pooled;
    if (pooling_ == "cls") {
      if (head_ == "multiple-choice") {
        // for left or right padding, <cls> is the first attended token
        at::Tensor first = given_mask ? mask.argmax(-1).to(h.device())
                                      : at::scalar_tensor(0, at::TensorOptions().dtype(at::kLong).device(h.device()));
        at::Tensor rows_idx = at::arange(h.size(0), at::TensorOptions().dtype(at::kLong).device(h.device()));
        pooled = h.index({rows_idx, first});
      } else {
        pooled = h.select(1, 0);  // last_hidden_state[:, 0]
      }
    } else {
      // (transformers' multiple-choice head has no mask to average over without one)
      if (!given_mask && head_ == "multiple-choice") throw std::runtime_error("mean pooling needs an attention mask");
      // (last_hidden_state * attention_mask.unsqueeze(-1)).sum(dim=1) / attention_mask.sum(dim=1, keepdim=True)
      at::Tensor n = mask.sum(1, true);
      pooled = (h * mask.unsqueeze(-1)).sum(1) / n;
    }
    at::Tensor logits = classifier_(head(pooled));
    if (head_ == "multiple-choice") return {logits.view({-1, choices})};
    return {logits};
  }

 private:
  at::Tensor head(const at::Tensor &x) const { return head_norm_(head_act_(head_dense_(x))); }

  // ModernBertAttention.forward with sdpa_attention_forward / eager_attention_forward.
  at::Tensor attention(const Layer &l, const at::Tensor &x, const std::pair<at::Tensor, at::Tensor> &cs,
                       const at::Tensor &mask) const {
    const int64_t bs = x.size(0);
    at::Tensor qkv = l.wqkv(x).view({bs, -1, 3, heads_, head_dim_});
    auto parts = qkv.transpose(3, 1).unbind(2);  // query, key, value: [batch, heads, seq, head_dim]
    at::Tensor cos = cs.first.unsqueeze(1), sin = cs.second.unsqueeze(1);
    at::Tensor q = (parts[0] * cos) + (rotate_half(parts[0]) * sin);
    at::Tensor k = (parts[1] * cos) + (rotate_half(parts[1]) * sin);
    const at::Tensor &v = parts[2];
    at::Tensor out;
    if (sdpa_) {
      out = sdpa(q, k, v, mask).transpose(1, 2).contiguous();
    } else {
      const double scale = std::pow(static_cast<double>(head_dim_), -0.5);
      at::Tensor weights = at::matmul(q, k.transpose(2, 3)) * scale;
      weights = weights + mask;
      weights = at::softmax(weights, -1, at::kFloat).to(q.scalar_type());
      out = at::matmul(weights, v).transpose(1, 2).contiguous();
    }
    return l.wo(out.view({bs, -1, hidden_}));
  }

  // ModernBertMLP: input, gate = Wi(x).chunk(2, dim=-1); Wo(act(input) * gate)
  at::Tensor mlp(const Layer &l, const at::Tensor &x) const {
    auto halves = l.wi(x).chunk(2, -1);
    return l.mlp_wo(act_(halves[0]) * halves[1]);
  }

  std::string head_, pooling_;
  int64_t hidden_ = 0, heads_ = 0, head_dim_ = 0, window_ = 0;
  bool sdpa_ = true;
  at::Tensor tok_;
  LayerNorm emb_norm_, final_norm_, head_norm_;
  Rotary global_rope_, local_rope_;
  Activation act_, head_act_;
  Linear head_dense_, classifier_;
  std::vector<Layer> layers_;
};

Registration modernbert_registration("modernbert", [](const Config &c, const Weights &w) {
  return std::unique_ptr<Model>(new ModernBert(c, w));
});

}  // namespace
}  // namespace native
}  // namespace hfpipe
