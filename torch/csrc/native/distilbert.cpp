// DistilBERT, as transformers 4.57's modeling_distilbert.py computes it in
// eval mode. Config keys: head, attn (sdpa | eager), dim, n_heads, n_layers,
// hidden_dim, activation, vocab_size, max_position_embeddings, num_labels.
#include "native.h"

#include <cmath>
#include <stdexcept>

namespace hfpipe {
namespace native {
namespace {

struct Block {  // TransformerBlock
  Linear q, k, v, out, lin1, lin2;
  LayerNorm sa_norm, out_norm;
  Activation act;
};

class DistilBert : public Model {
 public:
  DistilBert(const Config &c, const Weights &w) {
    head_ = c.str("head");
    dim_ = c.integer("dim");
    heads_ = c.integer("n_heads");
    const int64_t layers = c.integer("n_layers");
    const int64_t hidden = c.integer("hidden_dim");
    const int64_t vocab = c.integer("vocab_size");
    const int64_t max_pos = c.integer("max_position_embeddings");
    if (dim_ <= 0 || heads_ <= 0 || dim_ % heads_ != 0) {
      throw std::runtime_error("n_heads " + std::to_string(heads_) + " must divide dim " + std::to_string(dim_));
    }
    const std::string attn = c.str("attn", "sdpa");
    if (attn != "sdpa" && attn != "eager") throw std::runtime_error("attention implementation " + attn + " is not sdpa or eager");
    sdpa_ = attn == "sdpa";
    word_ = w.get("embeddings.word_embeddings.weight", {vocab, dim_});
    position_ = w.get("embeddings.position_embeddings.weight", {max_pos, dim_});
    emb_norm_ = layer_norm(w, "embeddings.LayerNorm", dim_, 1e-12);
    position_ids_ = at::arange(max_pos, at::TensorOptions().dtype(at::kLong).device(word_.device())).expand({1, -1});
    const std::string act = c.str("activation");
    for (int64_t i = 0; i < layers; i++) {
      const std::string p = "transformer.layer." + std::to_string(i) + ".";
      Block b;
      b.q = linear(w, p + "attention.q_lin", dim_, dim_);
      b.k = linear(w, p + "attention.k_lin", dim_, dim_);
      b.v = linear(w, p + "attention.v_lin", dim_, dim_);
      b.out = linear(w, p + "attention.out_lin", dim_, dim_);
      b.sa_norm = layer_norm(w, p + "sa_layer_norm", dim_, 1e-12);
      b.lin1 = linear(w, p + "ffn.lin1", hidden, dim_);
      b.lin2 = linear(w, p + "ffn.lin2", dim_, hidden);
      b.act = activation(act);
      b.out_norm = layer_norm(w, p + "output_layer_norm", dim_, 1e-12);
      blocks_.push_back(std::move(b));
    }
    const int64_t labels = c.integer("num_labels", 0);
    if (head_ == "base") {
    } else if (head_ == "sequence-classification" || head_ == "multiple-choice") {
      pre_classifier_ = linear(w, "pre_classifier", dim_, dim_);
      classifier_ = linear(w, "classifier", head_ == "multiple-choice" ? 1 : labels, dim_);
    } else if (head_ == "token-classification") {
      classifier_ = linear(w, "classifier", labels, dim_);
    } else if (head_ == "question-answering") {
      classifier_ = linear(w, "qa_outputs", 2, dim_);
    } else if (head_ == "masked-lm") {
      pre_classifier_ = linear(w, "vocab_transform", dim_, dim_);
      head_act_ = activation(act);
      head_norm_ = layer_norm(w, "vocab_layer_norm", dim_, 1e-12);
      classifier_.weight = !c.boolean("tie_word_embeddings", true) && w.has("vocab_projector.weight") ? w.get("vocab_projector.weight", {vocab, dim_}) : word_;
      classifier_.bias = w.get("vocab_projector.bias", {vocab});
      // Tying the output embeddings pads the decoder's bias
      // (PreTrainedModel._tie_or_clone_weights: nn.functional.pad), which
      // leaves it in fresh memory rather than in the file's pages.
      if (c.boolean("tie_word_embeddings", true)) classifier_.bias = classifier_.bias.clone();
    } else {
      throw std::runtime_error("distilbert: unknown head " + head_);
    }
  }

  std::vector<std::string> input_names() const override { return {"input_ids", "attention_mask"}; }

  std::vector<at::Tensor> forward(const Inputs &in, const std::atomic<bool> *cancel) override {
    Inputs flat = in;
    const int64_t choices = flatten_choices(head_, flat);
    at::Tensor ids = flat.input_ids, mask = flat.attention_mask;
    const int64_t t = ids.size(1);
    // Embeddings
    at::Tensor x = embed(word_, ids) + embed(position_, position_ids_.slice(1, 0, t));
    x = emb_norm_(x);
    at::Tensor attn_mask = sdpa_ ? sdpa_mask(mask, x.scalar_type(), t) : mask;
    for (const auto &b : blocks_) {
      check_cancel(cancel);
      x = block(b, x, attn_mask);
    }
    if (head_ == "base") return {x};
    if (head_ == "sequence-classification" || head_ == "multiple-choice") {
      at::Tensor pooled = at::relu(pre_classifier_(x.select(1, 0)));
      at::Tensor logits = classifier_(pooled);
      return {head_ == "multiple-choice" ? logits.view({-1, choices}) : logits};
    }
    if (head_ == "token-classification") return {classifier_(x)};
    if (head_ == "question-answering") return split_span_logits(classifier_(x));
    return {classifier_(head_norm_(head_act_(pre_classifier_(x))))};
  }

 private:
  // MultiHeadSelfAttention: q, k, v and the context die when it returns,
  // as they do in Python, so the feed-forward runs with the same memory live.
  at::Tensor attention(const Block &b, const at::Tensor &x, const at::Tensor &mask) const {
    const int64_t bs = x.size(0), k_len = x.size(1), dph = dim_ / heads_;
    auto shape = [&](const at::Tensor &y) { return y.view({bs, -1, heads_, dph}).transpose(1, 2); };
    auto unshape = [&](const at::Tensor &y) { return y.transpose(1, 2).contiguous().view({bs, -1, heads_ * dph}); };
    at::Tensor q = shape(b.q(x)), k = shape(b.k(x)), v = shape(b.v(x));
    at::Tensor ctx;
    if (sdpa_) {
      ctx = unshape(sdpa(q, k, v, mask));
    } else {
      q = q / std::sqrt(static_cast<double>(dph));
      at::Tensor scores = at::matmul(q, k.transpose(2, 3));
      at::Tensor m = (mask == 0).view({bs, 1, 1, k_len}).expand_as(scores);
      scores = scores.masked_fill(m, at::scalar_tensor(finfo_min(scores.scalar_type())));
      at::Tensor weights = at::softmax(scores, -1);
      ctx = unshape(at::matmul(weights, v));
    }
    return b.out(ctx);
  }

  // TransformerBlock
  at::Tensor block(const Block &b, const at::Tensor &x, const at::Tensor &mask) const {
    // Sums and activations write into fresh temporaries (the same kernels,
    // operands in the same order: the same bits as Python's out-of-place ops).
    at::Tensor sa = b.sa_norm(attention(b, x, mask).add_(x));
    at::Tensor ffn = b.lin2(b.act.consume(b.lin1(sa)));
    return b.out_norm(ffn.add_(sa));
  }

  std::string head_;
  int64_t dim_ = 0, heads_ = 0;
  bool sdpa_ = true;
  at::Tensor word_, position_, position_ids_;
  LayerNorm emb_norm_, head_norm_;
  Linear pre_classifier_, classifier_;
  Activation head_act_;
  std::vector<Block> blocks_;
};

Registration distilbert_registration("distilbert", [](const Config &c, const Weights &w) {
  return std::unique_ptr<Model>(new DistilBert(c, w));
});

}  // namespace
}  // namespace native
}  // namespace hfpipe
