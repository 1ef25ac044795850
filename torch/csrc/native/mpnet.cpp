// MPNet, as transformers 4.57's modeling_mpnet.py computes it in eval mode
// (eager attention only: MPNet has no SDPA path). Config keys: head, attn
// (eager), hidden_size, num_attention_heads, num_hidden_layers,
// intermediate_size, hidden_act, layer_norm_eps, max_position_embeddings,
// vocab_size, relative_attention_num_buckets, num_labels,
// tie_word_embeddings, pooler (true when the checkpoint has the pooler's
// weights).
#include "native.h"

#include <cmath>
#include <stdexcept>

namespace hfpipe {
namespace native {
namespace {

// MPNetEmbeddings' padding_idx, fixed whatever pad_token_id says.
constexpr int64_t kPaddingIdx = 1;

struct Layer {  // MPNetLayer: MPNetAttention, MPNetIntermediate, MPNetOutput
  Linear q, k, v, o, intermediate, output;
  LayerNorm attn_norm, output_norm;
  Activation act;
};

class MPNet : public Model {
 public:
  MPNet(const Config &c, const Weights &w) {
    head_ = c.str("head");
    hidden_ = c.integer("hidden_size");
    heads_ = c.integer("num_attention_heads");
    const int64_t layers = c.integer("num_hidden_layers");
    const int64_t inter = c.integer("intermediate_size");
    const int64_t vocab = c.integer("vocab_size");
    const int64_t max_pos = c.integer("max_position_embeddings");
    const int64_t buckets = c.integer("relative_attention_num_buckets", 32);
    const double eps = c.real("layer_norm_eps");
    const std::string act = c.str("hidden_act");
    if (hidden_ <= 0 || heads_ <= 0 || hidden_ % heads_ != 0) {
      throw std::runtime_error("hidden_size " + std::to_string(hidden_) + " is not a multiple of num_attention_heads " +
                               std::to_string(heads_));
    }
    const std::string attn = c.str("attn", "eager");
    if (attn != "eager") throw std::runtime_error("mpnet: attention implementation " + attn + " is not eager");
    head_size_ = hidden_ / heads_;

    word_ = w.get("embeddings.word_embeddings.weight", {vocab, hidden_});
    position_ = w.get("embeddings.position_embeddings.weight", {max_pos, hidden_});
    emb_norm_ = layer_norm(w, "embeddings.LayerNorm", hidden_, eps);
    relative_bias_ = w.get("encoder.relative_attention_bias.weight", {buckets, heads_});
    for (int64_t i = 0; i < layers; i++) {
      const std::string p = "encoder.layer." + std::to_string(i) + ".";
      Layer l;
      l.q = linear(w, p + "attention.attn.q", hidden_, hidden_);
      l.k = linear(w, p + "attention.attn.k", hidden_, hidden_);
      l.v = linear(w, p + "attention.attn.v", hidden_, hidden_);
      l.o = linear(w, p + "attention.attn.o", hidden_, hidden_);
      l.attn_norm = layer_norm(w, p + "attention.LayerNorm", hidden_, eps);
      l.intermediate = linear(w, p + "intermediate.dense", inter, hidden_);
      l.output = linear(w, p + "output.dense", hidden_, inter);
      l.act = activation(act);
      l.output_norm = layer_norm(w, p + "output.LayerNorm", hidden_, eps);
      layers_.push_back(std::move(l));
    }
    const int64_t labels = c.integer("num_labels", 0);
    if (head_ == "base") {
      if (c.boolean("pooler", false)) pooler_ = linear(w, "pooler.dense", hidden_, hidden_), has_pooler_ = true;
    } else if (head_ == "sequence-classification") {
      // MPNetClassificationHead
      head_dense_ = linear(w, "classifier.dense", hidden_, hidden_);
      classifier_ = linear(w, "classifier.out_proj", labels, hidden_);
    } else if (head_ == "token-classification") {
      classifier_ = linear(w, "classifier", labels, hidden_);
    } else if (head_ == "question-answering") {
      classifier_ = linear(w, "qa_outputs", 2, hidden_);
    } else if (head_ == "multiple-choice") {
      pooler_ = linear(w, "pooler.dense", hidden_, hidden_), has_pooler_ = true;
      classifier_ = linear(w, "classifier", 1, hidden_);
    } else if (head_ == "masked-lm") {
      // MPNetLMHead; tie_word_embeddings makes the decoder the word embedding
      // matrix, its bias is the head's own parameter.
      head_dense_ = linear(w, "lm_head.dense", hidden_, hidden_);
      head_norm_ = layer_norm(w, "lm_head.layer_norm", hidden_, eps);
      const bool tie = c.boolean("tie_word_embeddings", true);
      decoder_.weight = !tie && w.has("lm_head.decoder.weight") ? w.get("lm_head.decoder.weight", {vocab, hidden_}) : word_;
      decoder_.bias = w.get(w.has("lm_head.bias") ? "lm_head.bias" : "lm_head.decoder.bias", {vocab});
    } else {
      throw std::runtime_error("mpnet: unknown head " + head_);
    }
  }

  std::vector<std::string> input_names() const override { return {"input_ids", "attention_mask"}; }

  std::vector<at::Tensor> forward(const Inputs &in, const std::atomic<bool> *cancel) override {
    Inputs flat = in;
    const int64_t choices = flatten_choices(head_, flat);
    at::Tensor ids = flat.input_ids, mask = flat.attention_mask;
    at::Tensor h = embeddings(ids);
    at::Tensor ext = extended_mask(mask, h.scalar_type());
    at::Tensor bias = position_bias(h);
    for (const auto &l : layers_) {
      check_cancel(cancel);
      h = layer(l, h, ext, bias);
    }
    if (head_ == "base") {
      if (!has_pooler_) return {h};
      return {h, pool(h)};
    }
    if (head_ == "sequence-classification") {
      at::Tensor x = h.select(1, 0);  // features[:, 0, :]
      x = at::tanh(head_dense_(x));
      return {classifier_(x)};
    }
    if (head_ == "token-classification") return {classifier_(h)};
    if (head_ == "question-answering") return split_span_logits(classifier_(h));
    if (head_ == "multiple-choice") return {classifier_(pool(h)).view({-1, choices})};
    // masked-lm: dense, gelu, layer_norm, decoder
    at::Tensor x = head_norm_(at::gelu(head_dense_(h)));
    return {decoder_(x)};
  }

 private:
  at::Tensor embeddings(const at::Tensor &ids) const {
    // create_position_ids_from_input_ids(input_ids, self.padding_idx)
    at::Tensor m = ids.ne(kPaddingIdx).to(at::kInt);
    at::Tensor inc = at::cumsum(m, 1).type_as(m) * m;
    at::Tensor pos = inc.to(at::kLong) + kPaddingIdx;
    at::Tensor e = embed(word_, ids) + embed(position_, pos);
    return emb_norm_(e);
  }

  // MPNetEncoder.compute_position_bias(x) with its default num_buckets=32
  // (whatever relative_attention_num_buckets says): the buckets are made on
  // the CPU and moved to the model's device, as transformers does.
  at::Tensor position_bias(const at::Tensor &x) const {
    const int64_t bsz = x.size(0), qlen = x.size(1), klen = x.size(1);
    const auto cpu_long = at::TensorOptions().dtype(at::kLong);
    at::Tensor context_position = at::arange(qlen, cpu_long).unsqueeze(1);
    at::Tensor memory_position = at::arange(klen, cpu_long).unsqueeze(0);
    at::Tensor relative_position = memory_position - context_position;
    at::Tensor rp_bucket = relative_position_bucket(relative_position, 32, 128).to(x.device());
    at::Tensor values = embed(relative_bias_, rp_bucket);
    values = values.permute({2, 0, 1}).unsqueeze(0);
    return values.expand({bsz, -1, qlen, klen}).contiguous();
  }

  static at::Tensor relative_position_bucket(const at::Tensor &relative_position, int64_t num_buckets,
                                             int64_t max_distance) {
    at::Tensor n = -relative_position;
    num_buckets /= 2;
    // ret = 0; ret += (n < 0).to(torch.long) * num_buckets
    at::Tensor ret = (n < 0).to(at::kLong) * num_buckets + 0;
    n = at::abs(n);
    const int64_t max_exact = num_buckets / 2;
    at::Tensor is_small = n < max_exact;
    at::Tensor val_if_large =
        ((at::log(n.to(at::kFloat) / max_exact) /
          std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact))) *
         (num_buckets - max_exact))
            .to(at::kLong) +
        max_exact;
    val_if_large = at::min(val_if_large, at::full_like(val_if_large, num_buckets - 1));
    ret += at::where(is_small, n, val_if_large);
    return ret;
  }

  // MPNetAttention (self-attention + output): q, k, v, the scores and the
  // context die when it returns, as in Python, so the feed-forward runs with
  // the same memory live.
  at::Tensor attention(const Layer &l, const at::Tensor &h, const at::Tensor &mask, const at::Tensor &bias) const {
    const int64_t b = h.size(0), t = h.size(1);
    at::Tensor q = l.q(h).view({b, -1, heads_, head_size_}).transpose(1, 2);
    at::Tensor k = l.k(h).view({b, -1, heads_, head_size_}).transpose(1, 2);
    at::Tensor v = l.v(h).view({b, -1, heads_, head_size_}).transpose(1, 2);
    at::Tensor scores = at::matmul(q, k.transpose(-1, -2));
    scores = scores / std::sqrt(static_cast<double>(head_size_));
    scores += bias;
    scores = scores + mask;
    at::Tensor probs = at::softmax(scores, -1);
    at::Tensor ctx = at::matmul(probs, v).permute({0, 2, 1, 3}).contiguous();
    ctx = ctx.view({b, t, heads_ * head_size_});
    return l.attn_norm(l.o(ctx).add_(h));  // o(ctx) + h, in o's fresh output
  }

  // MPNetLayer
  at::Tensor layer(const Layer &l, const at::Tensor &h, const at::Tensor &mask, const at::Tensor &bias) const {
    at::Tensor a = attention(l, h, mask, bias);
    at::Tensor x = l.act.consume(l.intermediate(a));
    x = l.output(x);
    return l.output_norm(x.add_(a));
  }

  at::Tensor pool(const at::Tensor &h) const { return at::tanh(pooler_(h.select(1, 0))); }

  std::string head_;
  int64_t hidden_ = 0, heads_ = 0, head_size_ = 0;
  bool has_pooler_ = false;
  at::Tensor word_, position_, relative_bias_;
  LayerNorm emb_norm_, head_norm_;
  Linear pooler_, classifier_, head_dense_, decoder_;
  std::vector<Layer> layers_;
};

Registration mpnet_registration("mpnet", [](const Config &c, const Weights &w) {
  return std::unique_ptr<Model>(new MPNet(c, w));
});

}  // namespace
}  // namespace native
}  // namespace hfpipe
