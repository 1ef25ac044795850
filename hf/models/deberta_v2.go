package models

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// DeBERTa-v2 (and DeBERTa-v3, whose checkpoints say model_type
// "deberta-v2") runs on the shim's "deberta-v2" architecture
// (torch/csrc/native/deberta_v2.cpp). transformers 4.57 gives it eager
// attention only.
func init() {
	register(&Arch{
		ModelTypes: []string{"deberta-v2"}, Native: "deberta-v2", Prefix: "deberta",
		Classes: map[string]string{
			HeadBase: "DebertaV2Model", HeadSequenceClassification: "DebertaV2ForSequenceClassification",
			HeadTokenClassification: "DebertaV2ForTokenClassification", HeadQuestionAnswering: "DebertaV2ForQuestionAnswering",
			HeadMaskedLM: "DebertaV2ForMaskedLM", HeadMultipleChoice: "DebertaV2ForMultipleChoice",
		},
		Attention: []string{"eager"},
		Inputs:    []string{"input_ids", "attention_mask", "token_type_ids"},
		config:    debertaV2Config,
	})
}

// debertaV2Config reads DebertaV2Config's fields with its defaults, and the
// attributes the modeling code reads with getattr (they exist only when
// config.json has them) with getattr's defaults.
func debertaV2Config(c Raw, head string) (map[string]string, error) {
	f := newFields(c)
	f.int("vocab_size", "vocab_size", 128100)
	hidden := f.int("hidden_size", "hidden_size", 1536)
	f.int("num_hidden_layers", "num_hidden_layers", 24)
	heads := f.int("num_attention_heads", "num_attention_heads", 24)
	f.int("intermediate_size", "intermediate_size", 6144)
	f.str("hidden_act", "hidden_act", "gelu")
	f.int("max_position_embeddings", "max_position_embeddings", 512)
	f.int("type_vocab_size", "type_vocab_size", 0)
	f.float("layer_norm_eps", "layer_norm_eps", 1e-7)
	f.bool("relative_attention", "relative_attention", false)
	f.int("max_relative_positions", "max_relative_positions", -1)
	f.bool("position_biased_input", "position_biased_input", true)
	f.str("pooler_hidden_act", "pooler_hidden_act", "gelu")
	f.bool("legacy", "legacy", true)
	f.bool("tie_word_embeddings", "tie_word_embeddings", true)
	f.labels()
	// getattr(config, name, default)
	f.int("embedding_size", "embedding_size", hidden)
	if heads > 0 {
		f.int("attention_head_size", "attention_head_size", hidden/heads)
	}
	f.int("pooler_hidden_size", "pooler_hidden_size", hidden)
	f.int("position_buckets", "position_buckets", -1)
	f.bool("share_att_key", "share_att_key", false)
	f.int("conv_kernel_size", "conv_kernel_size", 0)
	f.int("conv_groups", "conv_groups", 1)
	f.str("conv_act", "conv_act", "tanh")
	// norm_rel_ebd: "layer_norm|..." (lower-cased, split on |, stripped)
	var norm []string
	for _, s := range strings.Split(strings.ToLower(f.str("norm_rel_ebd", "norm_rel_ebd", "none")), "|") {
		norm = append(norm, strings.TrimSpace(s))
	}
	delete(f.out, "norm_rel_ebd")
	f.out["norm_rel_ebd_layer_norm"] = fmt.Sprint(slices.Contains(norm, "layer_norm"))
	// pos_att_type: a list, or a "c2p|p2c" string that DebertaV2Config
	// lower-cases and splits
	att, err := posAttType(c["pos_att_type"])
	if err != nil {
		return nil, err
	}
	f.out["c2p"] = fmt.Sprint(slices.Contains(att, "c2p"))
	f.out["p2c"] = fmt.Sprint(slices.Contains(att, "p2c"))
	if f.err != nil {
		return nil, f.err
	}
	return f.out, nil
}

func posAttType(v json.RawMessage) ([]string, error) {
	if v == nil || string(v) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		var out []string
		for _, x := range strings.Split(strings.ToLower(s), "|") {
			out = append(out, strings.TrimSpace(x))
		}
		return out, nil
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, fmt.Errorf("models: config.json field \"pos_att_type\" is %s, want a list of strings or a \"c2p|p2c\" string", string(v))
	}
	return list, nil
}
