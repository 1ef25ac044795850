// The BERT family: BERT, RoBERTa, XLM-RoBERTa (RoBERTa's code) and ELECTRA,
// as transformers 4.57's modeling_bert.py, modeling_roberta.py,
// modeling_xlm_roberta.py and modeling_electra.py compute them in eval mode
// (dropout is the identity). Config keys:
//   flavour: bert | roberta | electra      head: base | sequence-classification |
//   token-classification | question-answering | masked-lm | multiple-choice
//   attn: sdpa | eager    hidden_size, num_attention_heads, num_hidden_layers,
//   intermediate_size, hidden_act, layer_norm_eps, max_position_embeddings,
//   type_vocab_size, vocab_size, pad_token_id, position_embedding_type,
//   embedding_size (electra), num_labels, pooler (true when the checkpoint
//   has the pooler's weights), summary_* (electra multiple choice)
#include "native.h"

#include <cmath>
#include <stdexcept>

namespace hfpipe {
namespace native {
namespace {

enum class Flavour { Bert, Roberta, Electra };

// BertSelfAttention / BertSdpaSelfAttention + BertSelfOutput.
struct Attention {
  Linear query, key, value, dense;
  LayerNorm norm;
  int64_t heads, head_size;
  bool use_sdpa;
  // relative_key / relative_key_query position scores (eager only)
  std::string position_type;
  at::Tensor distance_embedding;
  int64_t max_positions = 0;

  at::Tensor operator()(const at::Tensor &h, const at::Tensor &mask) const {
    const int64_t b = h.size(0), t = h.size(1), all = heads * head_size;
    at::Tensor q = query(h).view({b, -1, heads, head_size}).transpose(1, 2);
    at::Tensor k = key(h).view({b, -1, heads, head_size}).transpose(1, 2);
    at::Tensor v = value(h).view({b, -1, heads, head_size}).transpose(1, 2);
    at::Tensor ctx;
    if (use_sdpa) {
      ctx = sdpa(q, k, v, mask).transpose(1, 2).reshape({b, t, all});
    } else {
      at::Tensor scores = at::matmul(q, k.transpose(-1, -2));
      if (position_type == "relative_key" || position_type == "relative_key_query") {
        const auto opts = at::TensorOptions().dtype(at::kLong).device(h.device());
        at::Tensor l = at::arange(q.size(2), opts).view({-1, 1});
        at::Tensor r = at::arange(k.size(2), opts).view({1, -1});
        at::Tensor distance = l - r;
        at::Tensor pe = embed(distance_embedding, distance + (max_positions - 1)).to(q.scalar_type());
        if (position_type == "relative_key") {
          scores = scores + at::einsum("bhld,lrd->bhlr", {q, pe});
        } else {
          at::Tensor sq = at::einsum("bhld,lrd->bhlr", {q, pe});
          at::Tensor sk = at::einsum("bhrd,lrd->bhlr", {k, pe});
          scores = scores + sq + sk;
        }
      }
      scores = scores / std::sqrt(static_cast<double>(head_size));
      if (mask.defined()) scores = scores + mask;
      at::Tensor probs = at::softmax(scores, -1);
      ctx = at::matmul(probs, v).permute({0, 2, 1, 3}).contiguous();
      ctx = ctx.view({b, t, all});
    }
    // dense(ctx) + h, the sum written into the fresh dense output (the same
    // add kernel, operands in the same order: the same bits)
    return norm(dense(ctx).add_(h));
  }
};

struct Layer {  // BertLayer: attention, BertIntermediate, BertOutput
  Attention attention;
  Linear intermediate, output;
  Activation act;
  LayerNorm output_norm;

  at::Tensor operator()(const at::Tensor &h, const at::Tensor &mask) const {
    at::Tensor a = attention(h, mask);
    at::Tensor x = act.consume(intermediate(a));
    x = output(x);
    return output_norm(x.add_(a));
  }
};

class BertFamily : public Model {
 public:
  BertFamily(const Config &c, const Weights &w) {
    const std::string flavour = c.str("flavour");
    if (flavour == "bert") {
      flavour_ = Flavour::Bert;
    } else if (flavour == "roberta") {
      flavour_ = Flavour::Roberta;
    } else if (flavour == "electra") {
      flavour_ = Flavour::Electra;
    } else {
      throw std::runtime_error("bert family: unknown flavour " + flavour);
    }
    head_ = c.str("head");
    hidden_ = c.integer("hidden_size");
    const int64_t heads = c.integer("num_attention_heads");
    const int64_t layers = c.integer("num_hidden_layers");
    const int64_t inter = c.integer("intermediate_size");
    const int64_t vocab = c.integer("vocab_size");
    const int64_t max_pos = c.integer("max_position_embeddings");
    const int64_t types = c.integer("type_vocab_size");
    const double eps = c.real("layer_norm_eps");
    const std::string act = c.str("hidden_act");
    position_type_ = c.str("position_embedding_type", "absolute");
    pad_ = c.integer("pad_token_id", 0);
    if (hidden_ <= 0 || heads <= 0 || hidden_ % heads != 0) {
      throw std::runtime_error("hidden_size " + std::to_string(hidden_) + " is not a multiple of num_attention_heads " +
                               std::to_string(heads));
    }
    const std::string attn = c.str("attn", "sdpa");
    if (attn != "sdpa" && attn != "eager") throw std::runtime_error("attention implementation " + attn + " is not sdpa or eager");
    // BertSdpaSelfAttention falls back to the eager computation (and
    // BertModel to the eager mask) for relative position embeddings.
    sdpa_ = attn == "sdpa" && position_type_ == "absolute" && flavour_ != Flavour::Electra;
    if (position_type_ != "absolute" && position_type_ != "relative_key" && position_type_ != "relative_key_query") {
      throw std::runtime_error("position_embedding_type " + position_type_ + " is not supported");
    }
    emb_size_ = flavour_ == Flavour::Electra ? c.integer("embedding_size", hidden_) : hidden_;

    word_ = w.get("embeddings.word_embeddings.weight", {vocab, emb_size_});
    if (position_type_ == "absolute") position_ = w.get("embeddings.position_embeddings.weight", {max_pos, emb_size_});
    token_type_ = w.get("embeddings.token_type_embeddings.weight", {types, emb_size_});
    emb_norm_ = layer_norm(w, "embeddings.LayerNorm", emb_size_, eps);
    position_ids_ = at::arange(max_pos, at::TensorOptions().dtype(at::kLong).device(word_.device())).expand({1, -1});
    if (flavour_ == Flavour::Electra && emb_size_ != hidden_) {
      project_ = linear(w, "embeddings_project", hidden_, emb_size_);
      has_project_ = true;
    }
    for (int64_t i = 0; i < layers; i++) {
      const std::string p = "encoder.layer." + std::to_string(i) + ".";
      Layer l;
      l.attention.query = linear(w, p + "attention.self.query", hidden_, hidden_);
      l.attention.key = linear(w, p + "attention.self.key", hidden_, hidden_);
      l.attention.value = linear(w, p + "attention.self.value", hidden_, hidden_);
      l.attention.dense = linear(w, p + "attention.output.dense", hidden_, hidden_);
      l.attention.norm = layer_norm(w, p + "attention.output.LayerNorm", hidden_, eps);
      l.attention.heads = heads;
      l.attention.head_size = hidden_ / heads;
      l.attention.use_sdpa = sdpa_;
      l.attention.position_type = position_type_;
      if (position_type_ != "absolute") {
        l.attention.max_positions = max_pos;
        l.attention.distance_embedding =
            w.get(p + "attention.self.distance_embedding.weight", {2 * max_pos - 1, hidden_ / heads});
      }
      l.intermediate = linear(w, p + "intermediate.dense", inter, hidden_);
      l.output = linear(w, p + "output.dense", hidden_, inter);
      l.act = activation(act);
      l.output_norm = layer_norm(w, p + "output.LayerNorm", hidden_, eps);
      layers_.push_back(std::move(l));
    }
    const bool want_pooler = c.boolean("pooler", false);
    const int64_t labels = c.integer("num_labels", 0);
    if (head_ == "base") {
      if (want_pooler && flavour_ != Flavour::Electra) pooler_ = linear(w, "pooler.dense", hidden_, hidden_), has_pooler_ = true;
    } else if (head_ == "sequence-classification") {
      if (flavour_ == Flavour::Bert) {
        pooler_ = linear(w, "pooler.dense", hidden_, hidden_), has_pooler_ = true;
        classifier_ = linear(w, "classifier", labels, hidden_);
      } else {
        // RobertaClassificationHead / ElectraClassificationHead
        head_dense_ = linear(w, "classifier.dense", hidden_, hidden_);
        classifier_ = linear(w, "classifier.out_proj", labels, hidden_);
      }
    } else if (head_ == "token-classification") {
      classifier_ = linear(w, "classifier", labels, hidden_);
    } else if (head_ == "question-answering") {
      classifier_ = linear(w, "qa_outputs", 2, hidden_);
    } else if (head_ == "multiple-choice") {
      if (flavour_ == Flavour::Electra) {
        summary_type_ = c.str("summary_type", "first");
        if (summary_type_ != "first" && summary_type_ != "last" && summary_type_ != "mean") {
          throw std::runtime_error("electra summary_type " + summary_type_ + " is not supported (first, last, mean)");
        }
        if (c.boolean("summary_use_proj", true)) {
          const int64_t n = c.integer("summary_proj_size");
          head_dense_ = linear(w, "sequence_summary.summary", n, hidden_);
          summary_proj_ = true;
        }
        const std::string sa = c.str("summary_activation", "");
        summary_act_ = sa.empty() ? Activation([](const at::Tensor &x) { return x; }) : activation(sa);
        classifier_ = linear(w, "classifier", 1, c.integer("summary_proj_size", hidden_));
      } else {
        pooler_ = linear(w, "pooler.dense", hidden_, hidden_), has_pooler_ = true;
        classifier_ = linear(w, "classifier", 1, hidden_);
      }
    } else if (head_ == "masked-lm") {
      // tie_word_embeddings: the decoder is the word embedding matrix
      const bool tie = c.boolean("tie_word_embeddings", true);
      switch (flavour_) {
        case Flavour::Bert:
          head_dense_ = linear(w, "cls.predictions.transform.dense", hidden_, hidden_);
          head_act_ = activation(act);
          head_norm_ = layer_norm(w, "cls.predictions.transform.LayerNorm", hidden_, eps);
          decoder_.weight = !tie && w.has("cls.predictions.decoder.weight") ? w.get("cls.predictions.decoder.weight", {vocab, hidden_}) : word_;
          decoder_.bias = w.get(w.has("cls.predictions.bias") ? "cls.predictions.bias" : "cls.predictions.decoder.bias", {vocab});
          break;
        case Flavour::Roberta:
          head_dense_ = linear(w, "lm_head.dense", hidden_, hidden_);
          head_act_ = activation("gelu");
          head_norm_ = layer_norm(w, "lm_head.layer_norm", hidden_, eps);
          decoder_.weight = !tie && w.has("lm_head.decoder.weight") ? w.get("lm_head.decoder.weight", {vocab, hidden_}) : word_;
          decoder_.bias = w.get(w.has("lm_head.bias") ? "lm_head.bias" : "lm_head.decoder.bias", {vocab});
          break;
        case Flavour::Electra:
          head_dense_ = linear(w, "generator_predictions.dense", emb_size_, hidden_);
          head_act_ = activation("gelu");
          head_norm_ = layer_norm(w, "generator_predictions.LayerNorm", emb_size_, eps);
          decoder_.weight = !tie && w.has("generator_lm_head.weight") ? w.get("generator_lm_head.weight", {vocab, emb_size_}) : word_;
          decoder_.bias = w.get("generator_lm_head.bias", {vocab});
          // Tying pads the decoder's own bias into fresh memory
          // (_tie_or_clone_weights); BERT's and RoBERTa's heads share a
          // separate bias parameter, which stays in the file's pages.
          if (tie) decoder_.bias = decoder_.bias.clone();
          break;
      }
    } else {
      throw std::runtime_error("bert family: unknown head " + head_);
    }
  }

  std::vector<std::string> input_names() const override { return {"input_ids", "attention_mask", "token_type_ids"}; }

  std::vector<at::Tensor> forward(const Inputs &in, const std::atomic<bool> *cancel) override {
    Inputs flat = in;
    const int64_t choices = flatten_choices(head_, flat);
    at::Tensor ids = flat.input_ids, mask = flat.attention_mask, types = flat.token_type_ids;
    const int64_t b = ids.size(0), t = ids.size(1);
    if (!types.defined()) {
      // the registered token_type_ids buffer (zeros), expanded
      types = at::zeros({1, position_ids_.size(1)}, ids.options()).slice(1, 0, t).expand({b, t});
    }
    at::Tensor h = embeddings(ids, types);
    const auto dtype = h.scalar_type();
    at::Tensor ext = sdpa_ ? sdpa_mask(mask, dtype, t) : extended_mask(mask, dtype);
    if (has_project_) h = project_(h);
    for (const auto &l : layers_) {
      check_cancel(cancel);
      h = l(h, ext);
    }
    if (head_ == "base") {
      if (!has_pooler_) return {h};
      return {h, pool(h)};
    }
    if (head_ == "sequence-classification") {
      if (flavour_ == Flavour::Bert) return {classifier_(pool(h))};
      at::Tensor x = h.select(1, 0);  // features[:, 0, :]
      x = head_dense_(x);
      x = flavour_ == Flavour::Roberta ? at::tanh(x) : at::gelu(x);
      return {classifier_(x)};
    }
    if (head_ == "token-classification") return {classifier_(h)};
    if (head_ == "question-answering") return split_span_logits(classifier_(h));
    if (head_ == "multiple-choice") {
      at::Tensor pooled;
      if (flavour_ == Flavour::Electra) {
        if (summary_type_ == "first") {
          pooled = h.select(1, 0);
        } else if (summary_type_ == "last") {
          pooled = h.select(1, -1);
        } else {
          pooled = h.mean(1);
        }
        if (summary_proj_) pooled = head_dense_(pooled);
        pooled = summary_act_(pooled);
      } else {
        pooled = pool(h);
      }
      return {classifier_(pooled).view({-1, choices})};
    }
    // masked-lm
    at::Tensor x = head_norm_(head_act_(head_dense_(h)));
    return {decoder_(x)};
  }

 private:
  at::Tensor embeddings(const at::Tensor &ids, const at::Tensor &types) const {
    const int64_t t = ids.size(1);
    at::Tensor pos;
    if (flavour_ == Flavour::Roberta) {
      // create_position_ids_from_input_ids(input_ids, padding_idx, 0)
      at::Tensor m = ids.ne(pad_).to(at::kInt);
      at::Tensor inc = (at::cumsum(m, 1).type_as(m) + 0) * m;
      pos = inc.to(at::kLong) + pad_;
    } else {
      pos = position_ids_.slice(1, 0, t);
    }
    at::Tensor e = embed(word_, ids);
    at::Tensor tt = embed(token_type_, types);
    at::Tensor out = e + tt;
    if (position_type_ == "absolute") out += embed(position_, pos);
    return emb_norm_(out);
  }

  at::Tensor pool(const at::Tensor &h) const { return at::tanh(pooler_(h.select(1, 0))); }

  Flavour flavour_ = Flavour::Bert;
  std::string head_, position_type_, summary_type_;
  int64_t hidden_ = 0, emb_size_ = 0, pad_ = 0;
  bool sdpa_ = true, has_project_ = false, has_pooler_ = false, summary_proj_ = false;
  at::Tensor word_, position_, token_type_, position_ids_;
  LayerNorm emb_norm_;
  Linear project_, pooler_, classifier_, head_dense_, decoder_;
  Activation head_act_, summary_act_;
  LayerNorm head_norm_;
  std::vector<Layer> layers_;
};

Registration bert_registration("bert-family", [](const Config &c, const Weights &w) {
  return std::unique_ptr<Model>(new BertFamily(c, w));
});

}  // namespace
}  // namespace native
}  // namespace hfpipe
