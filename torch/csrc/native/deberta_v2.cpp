// DeBERTa-v2 (and DeBERTa-v3 checkpoints, which use its code), as
// transformers 4.57's modeling_deberta_v2.py computes it in eval mode
// (disentangled attention, eager only). Config keys (the Go side resolves
// transformers' getattr defaults):
//   head, attn (eager), hidden_size, num_attention_heads, attention_head_size,
//   num_hidden_layers, intermediate_size, hidden_act, layer_norm_eps,
//   vocab_size, embedding_size, max_position_embeddings, type_vocab_size,
//   position_biased_input, relative_attention, max_relative_positions,
//   position_buckets, c2p, p2c (pos_att_type), share_att_key,
//   norm_rel_ebd_layer_norm, conv_kernel_size, conv_groups, conv_act,
//   pooler_hidden_size, pooler_hidden_act, legacy, tie_word_embeddings,
//   num_labels
#include "native.h"

#include <cmath>
#include <stdexcept>

namespace hfpipe {
namespace native {
namespace {

// make_log_bucket_position (a TorchScript function in transformers: the same
// aten ops, in the same order and dtypes).
at::Tensor make_log_bucket_position(const at::Tensor &relative_pos, int64_t bucket_size, int64_t max_position) {
  at::Tensor sign = at::sign(relative_pos);
  const int64_t mid = bucket_size / 2;  // both positive
  at::Tensor abs_pos = at::where(at::bitwise_and(relative_pos < mid, relative_pos > -mid),
                                 at::scalar_tensor(mid - 1, at::TensorOptions().dtype(at::kLong)).type_as(relative_pos),
                                 at::abs(relative_pos));
  // torch.tensor((max_position - 1) / mid): a float (the default dtype) on the CPU
  at::Tensor denom = at::log(at::scalar_tensor(static_cast<double>(max_position - 1) / static_cast<double>(mid),
                                               at::TensorOptions().dtype(at::kFloat)));
  at::Tensor log_pos = at::ceil(at::log(abs_pos / mid) / denom * (mid - 1)) + mid;
  return at::where(abs_pos <= mid, relative_pos.type_as(log_pos), log_pos * sign);
}

// build_relative_position(query_layer, key_layer, bucket_size, max_position)
// for query and key of length n on device: [1, n, n] int64.
at::Tensor build_relative_position(int64_t n, const at::Device &device, int64_t bucket_size, int64_t max_position) {
  const auto opts = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor q_ids = at::arange(n, opts);
  at::Tensor k_ids = at::arange(n, opts);
  at::Tensor rel = q_ids.unsqueeze(1) - k_ids.unsqueeze(0);
  if (bucket_size > 0 && max_position > 0) rel = make_log_bucket_position(rel, bucket_size, max_position);
  rel = rel.to(at::kLong);
  rel = rel.slice(0, 0, n);
  return rel.unsqueeze(0);
}

// scaled_size_sqrt: torch.sqrt(torch.tensor(size, dtype=torch.float) * scale_factor), on the CPU.
at::Tensor scaled_size_sqrt(int64_t size, int64_t scale_factor) {
  return at::sqrt(at::scalar_tensor(size, at::TensorOptions().dtype(at::kFloat)) * scale_factor);
}

struct Layer {  // DebertaV2Layer
  Linear query, key, value, pos_key, pos_query, dense, intermediate, output;
  LayerNorm attn_norm, output_norm;
  Activation act;
};

class DebertaV2 : public Model {
 public:
  DebertaV2(const Config &c, const Weights &w) {
    head_ = c.str("head");
    hidden_ = c.integer("hidden_size");
    heads_ = c.integer("num_attention_heads");
    const int64_t layers = c.integer("num_hidden_layers");
    const int64_t inter = c.integer("intermediate_size");
    const int64_t vocab = c.integer("vocab_size");
    const int64_t max_pos = c.integer("max_position_embeddings");
    const int64_t types = c.integer("type_vocab_size");
    const double eps = c.real("layer_norm_eps");
    const std::string act = c.str("hidden_act");
    if (hidden_ <= 0 || heads_ <= 0 || hidden_ % heads_ != 0) {
      throw std::runtime_error("hidden_size " + std::to_string(hidden_) + " is not a multiple of num_attention_heads " +
                               std::to_string(heads_));
    }
    const std::string attn = c.str("attn", "eager");
    if (attn != "eager") throw std::runtime_error("deberta-v2: attention implementation " + attn + " is not eager");
    head_size_ = c.integer("attention_head_size", hidden_ / heads_);
    const int64_t all = heads_ * head_size_;
    emb_size_ = c.integer("embedding_size", hidden_);

    // DebertaV2Embeddings
    word_ = w.get("embeddings.word_embeddings.weight", {vocab, emb_size_});
    position_biased_ = c.boolean("position_biased_input", true);
    if (position_biased_) position_ = w.get("embeddings.position_embeddings.weight", {max_pos, emb_size_});
    if (types > 0) token_type_ = w.get("embeddings.token_type_embeddings.weight", {types, emb_size_});
    if (emb_size_ != hidden_) embed_proj_ = linear(w, "embeddings.embed_proj", hidden_, emb_size_, false), has_proj_ = true;
    emb_norm_ = layer_norm(w, "embeddings.LayerNorm", hidden_, eps);
    position_ids_ = at::arange(max_pos, at::TensorOptions().dtype(at::kLong).device(word_.device())).expand({1, -1});

    // DebertaV2Encoder / DisentangledSelfAttention
    relative_ = c.boolean("relative_attention", false);
    c2p_ = c.boolean("c2p", false);
    p2c_ = c.boolean("p2c", false);
    share_att_key_ = c.boolean("share_att_key", false);
    scale_factor_ = 1 + (c2p_ ? 1 : 0) + (p2c_ ? 1 : 0);
    if (relative_) {
      max_relative_ = c.integer("max_relative_positions", -1);
      if (max_relative_ < 1) max_relative_ = max_pos;
      buckets_ = c.integer("position_buckets", -1);
      att_span_ = buckets_ > 0 ? buckets_ : max_relative_;
      rel_embeddings_ = w.get("encoder.rel_embeddings.weight", {att_span_ * 2, hidden_});
    }
    if (relative_ && c.boolean("norm_rel_ebd_layer_norm", false)) {  // only get_rel_embedding uses it
      rel_norm_ = layer_norm(w, "encoder.LayerNorm", hidden_, eps);
      has_rel_norm_ = true;
    }
    const int64_t kernel = c.integer("conv_kernel_size", 0);
    if (kernel > 0) {
      conv_groups_ = c.integer("conv_groups", 1);
      if (conv_groups_ <= 0 || hidden_ % conv_groups_ != 0) {
        throw std::runtime_error("conv_groups " + std::to_string(conv_groups_) + " does not divide hidden_size");
      }
      conv_padding_ = (kernel - 1) / 2;
      conv_weight_ = w.get("encoder.conv.conv.weight", {hidden_, hidden_ / conv_groups_, kernel});
      conv_bias_ = w.get("encoder.conv.conv.bias", {hidden_});
      conv_norm_ = layer_norm(w, "encoder.conv.LayerNorm", hidden_, eps);
      conv_act_ = activation(c.str("conv_act", "tanh"));
      has_conv_ = true;
    }
    for (int64_t i = 0; i < layers; i++) {
      const std::string p = "encoder.layer." + std::to_string(i) + ".";
      Layer l;
      l.query = linear(w, p + "attention.self.query_proj", all, hidden_);
      l.key = linear(w, p + "attention.self.key_proj", all, hidden_);
      l.value = linear(w, p + "attention.self.value_proj", all, hidden_);
      if (relative_ && !share_att_key_) {
        if (c2p_) l.pos_key = linear(w, p + "attention.self.pos_key_proj", all, hidden_);
        if (p2c_) l.pos_query = linear(w, p + "attention.self.pos_query_proj", all, hidden_);
      }
      l.dense = linear(w, p + "attention.output.dense", hidden_, hidden_);
      l.attn_norm = layer_norm(w, p + "attention.output.LayerNorm", hidden_, eps);
      l.intermediate = linear(w, p + "intermediate.dense", inter, hidden_);
      l.act = activation(act);
      l.output = linear(w, p + "output.dense", hidden_, inter);
      l.output_norm = layer_norm(w, p + "output.LayerNorm", hidden_, eps);
      layers_.push_back(std::move(l));
    }

    const int64_t labels = c.integer("num_labels", 0);
    const int64_t pooler_size = c.integer("pooler_hidden_size", hidden_);
    if (head_ == "base") {
    } else if (head_ == "sequence-classification" || head_ == "multiple-choice") {
      // ContextPooler, then the classifier
      pooler_ = linear(w, "pooler.dense", pooler_size, pooler_size);
      pooler_act_ = activation(c.str("pooler_hidden_act", "gelu"));
      classifier_ = linear(w, "classifier", head_ == "multiple-choice" ? 1 : labels, hidden_);
    } else if (head_ == "token-classification") {
      classifier_ = linear(w, "classifier", labels, hidden_);
    } else if (head_ == "question-answering") {
      classifier_ = linear(w, "qa_outputs", 2, hidden_);
    } else if (head_ == "masked-lm") {
      const bool tie = c.boolean("tie_word_embeddings", true);
      legacy_ = c.boolean("legacy", true);
      head_act_ = activation(act);
      if (legacy_) {
        // LegacyDebertaV2OnlyMLMHead: cls.predictions, its decoder tied to the word embeddings
        head_dense_ = linear(w, "cls.predictions.transform.dense", emb_size_, hidden_);
        head_norm_ = layer_norm(w, "cls.predictions.transform.LayerNorm", emb_size_, eps);
        decoder_.weight = !tie && w.has("cls.predictions.decoder.weight")
                              ? w.get("cls.predictions.decoder.weight", {vocab, emb_size_})
                              : word_;
        decoder_.bias = w.get(w.has("cls.predictions.bias") ? "cls.predictions.bias" : "cls.predictions.decoder.bias", {vocab});
      } else {
        // DebertaV2OnlyMLMHead: lm_predictions.lm_head, scored against the word embeddings
        if (tie) {
          throw std::runtime_error(
              "deberta-v2: the non-legacy masked-LM head (legacy=false) with tie_word_embeddings=true does not run in "
              "transformers 4.57 (tying replaces lm_predictions.lm_head.dense with the word embeddings)");
        }
        if (emb_size_ != hidden_) throw std::runtime_error("deberta-v2: the non-legacy masked-LM head needs embedding_size == hidden_size");
        head_dense_ = linear(w, "lm_predictions.lm_head.dense", hidden_, hidden_);
        head_norm_ = layer_norm(w, "lm_predictions.lm_head.LayerNorm", hidden_, eps);
        decoder_.weight = word_;
        decoder_.bias = w.get("lm_predictions.lm_head.bias", {vocab});
      }
    } else {
      throw std::runtime_error("deberta-v2: unknown head " + head_);
    }
  }

  std::vector<std::string> input_names() const override { return {"input_ids", "attention_mask", "token_type_ids"}; }

  std::vector<at::Tensor> forward(const Inputs &in, const std::atomic<bool> *cancel) override {
    Inputs flat = in;
    const int64_t choices = flatten_choices(head_, flat);
    at::Tensor ids = flat.input_ids, mask = flat.attention_mask, types = flat.token_type_ids;
    if (!types.defined()) types = at::zeros(ids.sizes(), ids.options());
    at::Tensor h = encoder(embeddings(ids, types, mask), mask, cancel);
    if (head_ == "base") return {h};
    if (head_ == "sequence-classification" || head_ == "multiple-choice") {
      at::Tensor pooled = pooler_act_(pooler_(h.select(1, 0)));
      at::Tensor logits = classifier_(pooled);
      return {head_ == "multiple-choice" ? logits.view({-1, choices}) : logits};
    }
    if (head_ == "token-classification") return {classifier_(h)};
    if (head_ == "question-answering") return split_span_logits(classifier_(h));
    // masked-lm
    at::Tensor x = head_norm_(head_act_(head_dense_(h)));
    if (legacy_) return {decoder_(x)};
    return {at::matmul(x, decoder_.weight.t()) + decoder_.bias};
  }

 private:
  at::Tensor embeddings(const at::Tensor &ids, const at::Tensor &types, const at::Tensor &mask) const {
    const int64_t t = ids.size(1);
    at::Tensor e = embed(word_, ids);
    if (position_biased_) e = e + embed(position_, position_ids_.slice(1, 0, t));
    if (token_type_.defined()) e = e + embed(token_type_, types);
    if (has_proj_) e = embed_proj_(e);
    e = emb_norm_(e);
    return e * mask.unsqueeze(2).to(e.scalar_type());
  }

  at::Tensor encoder(const at::Tensor &embedded, const at::Tensor &input_mask, const std::atomic<bool> *cancel) const {
    // get_attention_mask: [b, 1, 1, n] * [b, 1, n, 1]; each layer fills where it is 0
    at::Tensor ext = input_mask.unsqueeze(1).unsqueeze(2);
    at::Tensor masked = (ext * ext.squeeze(-2).unsqueeze(-1)).to(at::kBool).logical_not();
    at::Tensor relative_pos, rel_embeddings;
    if (relative_) {
      relative_pos = build_relative_position(embedded.size(-2), embedded.device(), buckets_, max_relative_);
      rel_embeddings = rel_embeddings_;
      if (has_rel_norm_) rel_embeddings = rel_norm_(rel_embeddings);
    }
    at::Tensor h = embedded;
    for (size_t i = 0; i < layers_.size(); i++) {
      check_cancel(cancel);
      at::Tensor out = layer(layers_[i], h, masked, relative_pos, rel_embeddings);
      if (i == 0 && has_conv_) out = conv(embedded, out, input_mask);
      h = out;
    }
    return h;
  }

  // ConvLayer(hidden_states, residual_states, input_mask)
  at::Tensor conv(const at::Tensor &hidden, const at::Tensor &residual, const at::Tensor &input_mask) const {
    at::Tensor out = at::conv1d(hidden.permute({0, 2, 1}).contiguous(), conv_weight_, conv_bias_, {1}, {conv_padding_}, {1},
                                conv_groups_)
                         .permute({0, 2, 1})
                         .contiguous();
    at::Tensor rmask = at::rsub(input_mask, 1).to(at::kBool);
    out.masked_fill_(rmask.unsqueeze(-1).expand(out.sizes()), 0);
    out = conv_act_(out);
    at::Tensor ln_input = residual + out;
    at::Tensor output = conv_norm_(ln_input);
    return output * input_mask.unsqueeze(2).to(output.scalar_type());
  }

  // transpose_for_scores: [b, n, heads * d] -> [b * heads, n, d]
  at::Tensor split_heads(const at::Tensor &x) const {
    at::Tensor y = x.view({x.size(0), x.size(1), heads_, -1});
    return y.permute({0, 2, 1, 3}).contiguous().view({-1, y.size(1), y.size(-1)});
  }

  // DebertaV2Attention (DisentangledSelfAttention + DebertaV2SelfOutput):
  // q, k, v, the scores and the context die when it returns, as in Python,
  // so the feed-forward runs with the same memory live.
  at::Tensor attention(const Layer &l, const at::Tensor &h, const at::Tensor &masked, const at::Tensor &relative_pos,
                       const at::Tensor &rel_embeddings) const {
    at::Tensor q = split_heads(l.query(h));
    at::Tensor k = split_heads(l.key(h));
    at::Tensor v = split_heads(l.value(h));
    at::Tensor scale = scaled_size_sqrt(q.size(-1), scale_factor_);
    at::Tensor scores = at::bmm(q, k.transpose(-1, -2) / scale.to(q.scalar_type()));
    if (relative_) {
      at::Tensor rel_att = disentangled_bias(l, q, k, relative_pos, rel_embeddings);
      scores = rel_att.defined() ? scores + rel_att : scores + 0;  // without c2p or p2c, rel_att is the int 0
    }
    scores = scores.view({-1, heads_, scores.size(-2), scores.size(-1)});
    scores = scores.masked_fill(masked, finfo_min(q.scalar_type()));
    at::Tensor probs = at::softmax(scores, -1);
    at::Tensor ctx = at::bmm(probs.view({-1, probs.size(-2), probs.size(-1)}), v);
    ctx = ctx.view({-1, heads_, ctx.size(-2), ctx.size(-1)}).permute({0, 2, 1, 3}).contiguous();
    ctx = ctx.view({ctx.size(0), ctx.size(1), -1});
    return l.attn_norm(l.dense(ctx).add_(h));  // DebertaV2SelfOutput: dense(ctx) + h, in dense's fresh output
  }

  // DebertaV2Layer
  at::Tensor layer(const Layer &l, const at::Tensor &h, const at::Tensor &masked, const at::Tensor &relative_pos,
                   const at::Tensor &rel_embeddings) const {
    at::Tensor a = attention(l, h, masked, relative_pos, rel_embeddings);
    at::Tensor x = l.act.consume(l.intermediate(a));
    return l.output_norm(l.output(x).add_(a));
  }

  // DisentangledSelfAttention.disentangled_attention_bias
  at::Tensor disentangled_bias(const Layer &l, const at::Tensor &q, const at::Tensor &k, const at::Tensor &relative_pos3,
                               const at::Tensor &rel_embeddings_all) const {
    at::Tensor relative_pos = relative_pos3.unsqueeze(1).to(at::kLong);  // [1, 1, n, n]
    at::Tensor rel = rel_embeddings_all.slice(0, 0, att_span_ * 2).unsqueeze(0);
    const int64_t reps = q.size(0) / heads_;
    at::Tensor pos_query, pos_key;
    if (share_att_key_) {
      pos_query = split_heads(l.query(rel)).repeat({reps, 1, 1});
      pos_key = split_heads(l.key(rel)).repeat({reps, 1, 1});
    } else {
      if (c2p_) pos_key = split_heads(l.pos_key(rel)).repeat({reps, 1, 1});
      if (p2c_) pos_query = split_heads(l.pos_query(rel)).repeat({reps, 1, 1});
    }
    at::Tensor score;
    if (c2p_) {
      at::Tensor scale = scaled_size_sqrt(pos_key.size(-1), scale_factor_);
      at::Tensor c2p = at::bmm(q, pos_key.transpose(-1, -2));
      at::Tensor c2p_pos = at::clamp(relative_pos + att_span_, 0, att_span_ * 2 - 1);
      c2p = at::gather(c2p, -1, c2p_pos.squeeze(0).expand({q.size(0), q.size(1), relative_pos.size(-1)}));
      score = c2p / scale.to(c2p.scalar_type()) + 0;  // score = 0; score += ...
    }
    if (p2c_) {
      at::Tensor scale = scaled_size_sqrt(pos_query.size(-1), scale_factor_);
      at::Tensor p2c_pos = at::clamp(-relative_pos + att_span_, 0, att_span_ * 2 - 1);
      at::Tensor p2c = at::bmm(k, pos_query.transpose(-1, -2));
      p2c = at::gather(p2c, -1, p2c_pos.squeeze(0).expand({q.size(0), k.size(-2), k.size(-2)})).transpose(-1, -2);
      at::Tensor term = p2c / scale.to(p2c.scalar_type());
      if (score.defined()) {
        score += term;
      } else {
        score = term + 0;
      }
    }
    return score;  // undefined: neither c2p nor p2c
  }

  std::string head_;
  int64_t hidden_ = 0, heads_ = 0, head_size_ = 0, emb_size_ = 0;
  int64_t max_relative_ = 0, buckets_ = -1, att_span_ = 0, scale_factor_ = 1;
  int64_t conv_groups_ = 1, conv_padding_ = 0;
  bool position_biased_ = true, has_proj_ = false, relative_ = false, c2p_ = false, p2c_ = false;
  bool share_att_key_ = false, has_rel_norm_ = false, has_conv_ = false, legacy_ = true;
  at::Tensor word_, position_, token_type_, position_ids_, rel_embeddings_, conv_weight_, conv_bias_;
  Linear embed_proj_, pooler_, classifier_, head_dense_, decoder_;
  LayerNorm emb_norm_, rel_norm_, conv_norm_, head_norm_;
  Activation conv_act_, pooler_act_, head_act_;
  std::vector<Layer> layers_;
};

Registration deberta_v2_registration("deberta-v2", [](const Config &c, const Weights &w) {
  return std::unique_ptr<Model>(new DebertaV2(c, w));
});

}  // namespace
}  // namespace native
}  // namespace hfpipe
