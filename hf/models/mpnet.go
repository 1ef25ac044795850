package models

// MPNet runs on the shim's "mpnet" architecture
// (torch/csrc/native/mpnet.cpp). transformers 4.57 gives it eager attention
// only, and its tokenizers give no token_type_ids.
func init() {
	register(&Arch{
		ModelTypes: []string{"mpnet"}, Native: "mpnet", Prefix: "mpnet",
		Classes: map[string]string{
			HeadBase: "MPNetModel", HeadSequenceClassification: "MPNetForSequenceClassification",
			HeadTokenClassification: "MPNetForTokenClassification", HeadQuestionAnswering: "MPNetForQuestionAnswering",
			HeadMaskedLM: "MPNetForMaskedLM", HeadMultipleChoice: "MPNetForMultipleChoice",
		},
		Attention: []string{"eager"},
		Inputs:    []string{"input_ids", "attention_mask"},
		config: func(c Raw, head string) (map[string]string, error) {
			// MPNetConfig's defaults
			f := newFields(c)
			f.int("vocab_size", "vocab_size", 30527)
			f.int("hidden_size", "hidden_size", 768)
			f.int("num_hidden_layers", "num_hidden_layers", 12)
			f.int("num_attention_heads", "num_attention_heads", 12)
			f.int("intermediate_size", "intermediate_size", 3072)
			f.str("hidden_act", "hidden_act", "gelu")
			f.float("layer_norm_eps", "layer_norm_eps", 1e-12)
			f.int("max_position_embeddings", "max_position_embeddings", 512)
			f.int("relative_attention_num_buckets", "relative_attention_num_buckets", 32)
			f.bool("tie_word_embeddings", "tie_word_embeddings", true)
			f.labels()
			if f.err != nil {
				return nil, f.err
			}
			return f.out, nil
		},
	})
}
