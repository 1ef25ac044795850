package models

import "fmt"

// The BERT family runs on the shim's "bert-family" architecture
// (torch/csrc/native/bert.cpp), one flavour per modeling file.
func init() {
	heads := func(prefix string, mc bool) map[string]string {
		m := map[string]string{
			HeadBase: prefix + "Model", HeadSequenceClassification: prefix + "ForSequenceClassification",
			HeadTokenClassification: prefix + "ForTokenClassification", HeadQuestionAnswering: prefix + "ForQuestionAnswering",
			HeadMaskedLM: prefix + "ForMaskedLM",
		}
		if mc {
			m[HeadMultipleChoice] = prefix + "ForMultipleChoice"
		}
		return m
	}
	register(&Arch{
		ModelTypes: []string{"bert"}, Native: "bert-family", Prefix: "bert",
		Classes: heads("Bert", true), Attention: []string{"sdpa", "eager"},
		Inputs: []string{"input_ids", "attention_mask", "token_type_ids"},
		config: func(c Raw, head string) (map[string]string, error) {
			return bertConfig(c, "bert", bertDefaults{vocab: 30522, pad: 0, types: 2})
		},
	})
	register(&Arch{
		ModelTypes: []string{"roberta", "xlm-roberta", "camembert"}, Native: "bert-family", Prefix: "roberta",
		Classes: heads("Roberta", true), Attention: []string{"sdpa", "eager"},
		Inputs: []string{"input_ids", "attention_mask", "token_type_ids"},
		config: func(c Raw, head string) (map[string]string, error) {
			return bertConfig(c, "roberta", bertDefaults{vocab: 50265, pad: 1, types: 2})
		},
	})
	register(&Arch{
		ModelTypes: []string{"electra"}, Native: "bert-family", Prefix: "electra",
		Classes: heads("Electra", true), Attention: []string{"eager"},
		Inputs: []string{"input_ids", "attention_mask", "token_type_ids"},
		config: func(c Raw, head string) (map[string]string, error) {
			return bertConfig(c, "electra", bertDefaults{vocab: 30522, pad: 0, types: 2, hidden: 256, heads: 4, inter: 1024})
		},
	})
}

type bertDefaults struct {
	vocab, pad, types    int64
	hidden, heads, inter int64
}

func bertConfig(c Raw, flavour string, d bertDefaults) (map[string]string, error) {
	f := newFields(c)
	f.out["flavour"] = flavour
	if d.hidden == 0 {
		d.hidden, d.heads, d.inter = 768, 12, 3072
	}
	f.int("vocab_size", "vocab_size", d.vocab)
	hidden := f.int("hidden_size", "hidden_size", d.hidden)
	f.int("num_hidden_layers", "num_hidden_layers", 12)
	f.int("num_attention_heads", "num_attention_heads", d.heads)
	f.int("intermediate_size", "intermediate_size", d.inter)
	f.str("hidden_act", "hidden_act", "gelu")
	f.float("layer_norm_eps", "layer_norm_eps", 1e-12)
	f.int("max_position_embeddings", "max_position_embeddings", 512)
	f.int("type_vocab_size", "type_vocab_size", d.types)
	f.int("pad_token_id", "pad_token_id", d.pad)
	f.str("position_embedding_type", "position_embedding_type", "absolute")
	f.bool("tie_word_embeddings", "tie_word_embeddings", true)
	f.labels()
	if flavour == "electra" {
		f.int("embedding_size", "embedding_size", 128)
		f.str("summary_type", "summary_type", "first")
		f.bool("summary_use_proj", "summary_use_proj", true)
		f.str("summary_activation", "summary_activation", "")
		// ElectraSequenceSummary projects to num_labels only when asked
		size := hidden
		var toLabels bool
		if v, ok := c["summary_proj_to_labels"]; ok && string(v) == "true" {
			toLabels = true
		}
		if toLabels && f.out["num_labels"] != "0" {
			f.out["summary_proj_size"] = f.out["num_labels"]
		} else {
			f.out["summary_proj_size"] = fmt.Sprint(size)
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return f.out, nil
}
