package models

import "fmt"

// ModernBERT runs on the shim's "modernbert" architecture
// (torch/csrc/native/modernbert.cpp): transformers' sdpa and eager paths,
// which run padded batches as they come. Its flash_attention_2 path (the
// default where the flash_attn package is installed) unpads them instead and
// is not mirrored; neither is the torch.compile path reference_compile picks
// on CUDA machines with Triton (transformers turns it off on the CPU).
func init() {
	register(&Arch{
		ModelTypes: []string{"modernbert"}, Native: "modernbert", Prefix: "model",
		Classes: map[string]string{
			HeadBase: "ModernBertModel", HeadSequenceClassification: "ModernBertForSequenceClassification",
			HeadTokenClassification: "ModernBertForTokenClassification", HeadQuestionAnswering: "ModernBertForQuestionAnswering",
			HeadMaskedLM: "ModernBertForMaskedLM", HeadMultipleChoice: "ModernBertForMultipleChoice",
		},
		Attention: []string{"sdpa", "eager"},
		Inputs:    []string{"input_ids", "attention_mask"},
		config:    modernbertConfig,
	})
}

// modernbertConfig reads config.json with ModernBertConfig's defaults.
func modernbertConfig(c Raw, head string) (map[string]string, error) {
	// Settings that change the computation in ways the native code does not
	// follow: a rope_scaling dict picks another rope type, head_dim and
	// partial_rotary_factor change the rotary dimension.
	for _, k := range []string{"rope_scaling", "head_dim", "partial_rotary_factor"} {
		if v, ok := c[k]; ok && string(v) != "null" {
			return nil, fmt.Errorf("models: modernbert with %s=%s is not supported natively", k, string(v))
		}
	}
	f := newFields(c)
	f.int("vocab_size", "vocab_size", 50368)
	f.int("hidden_size", "hidden_size", 768)
	f.int("intermediate_size", "intermediate_size", 1152)
	f.int("num_hidden_layers", "num_hidden_layers", 22)
	f.int("num_attention_heads", "num_attention_heads", 12)
	f.str("hidden_activation", "hidden_activation", "gelu")
	f.float("norm_eps", "norm_eps", 1e-5)
	f.bool("norm_bias", "norm_bias", false)
	f.float("global_rope_theta", "global_rope_theta", 160000.0)
	// local_rope_theta null: the local layers use global_rope_theta (the
	// native code's default when the key is absent)
	if v, ok := c["local_rope_theta"]; !ok || string(v) != "null" {
		f.float("local_rope_theta", "local_rope_theta", 10000.0)
	}
	f.bool("attention_bias", "attention_bias", false)
	f.int("global_attn_every_n_layers", "global_attn_every_n_layers", 3)
	f.int("local_attention", "local_attention", 128)
	f.bool("mlp_bias", "mlp_bias", false)
	f.bool("decoder_bias", "decoder_bias", true)
	if p := f.str("classifier_pooling", "classifier_pooling", "cls"); p != "cls" && p != "mean" && f.err == nil {
		f.err = fmt.Errorf("models: config.json field \"classifier_pooling\" is %q, want \"cls\" or \"mean\"", p)
	}
	f.bool("classifier_bias", "classifier_bias", false)
	f.str("classifier_activation", "classifier_activation", "gelu")
	f.bool("tie_word_embeddings", "tie_word_embeddings", true)
	f.labels()
	if f.err != nil {
		return nil, f.err
	}
	return f.out, nil
}
