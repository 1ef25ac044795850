package models

// DistilBERT runs on the shim's "distilbert" architecture
// (torch/csrc/native/distilbert.cpp).
func init() {
	register(&Arch{
		ModelTypes: []string{"distilbert"}, Native: "distilbert", Prefix: "distilbert",
		Classes: map[string]string{
			HeadBase: "DistilBertModel", HeadSequenceClassification: "DistilBertForSequenceClassification",
			HeadTokenClassification: "DistilBertForTokenClassification", HeadQuestionAnswering: "DistilBertForQuestionAnswering",
			HeadMaskedLM: "DistilBertForMaskedLM", HeadMultipleChoice: "DistilBertForMultipleChoice",
		},
		Attention: []string{"sdpa", "eager"},
		Inputs:    []string{"input_ids", "attention_mask"},
		config: func(c Raw, head string) (map[string]string, error) {
			f := newFields(c)
			f.int("vocab_size", "vocab_size", 30522)
			f.int("dim", "dim", 768)
			f.int("n_layers", "n_layers", 6)
			f.int("n_heads", "n_heads", 12)
			f.int("hidden_dim", "hidden_dim", 3072)
			f.str("activation", "activation", "gelu")
			f.int("max_position_embeddings", "max_position_embeddings", 512)
			f.bool("tie_word_embeddings", "tie_word_embeddings", true)
			f.labels()
			if f.err != nil {
				return nil, f.err
			}
			return f.out, nil
		},
	})
}
