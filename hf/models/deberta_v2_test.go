package models

import (
	"encoding/json"
	"testing"
)

func rawConfig(t *testing.T, s string) Raw {
	t.Helper()
	var r Raw
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// A DeBERTa-v3 config.json as the Hub has them: pos_att_type as a "p2c|c2p"
// string, the getattr-only attributes present, class defaults omitted.
func TestDebertaV2ConfigV3(t *testing.T) {
	a, ok := Lookup("deberta-v2")
	if !ok {
		t.Fatal("deberta-v2 is not registered")
	}
	c := rawConfig(t, `{"model_type": "deberta-v2", "hidden_size": 768, "intermediate_size": 3072,
		"max_position_embeddings": 512, "relative_attention": true, "position_buckets": 256,
		"norm_rel_ebd": "layer_norm", "share_att_key": true, "pos_att_type": "P2C | c2p", "layer_norm_eps": 1e-7,
		"max_relative_positions": -1, "position_biased_input": false, "num_attention_heads": 12,
		"num_hidden_layers": 12, "type_vocab_size": 0, "vocab_size": 128100}`)
	kv, err := a.Config(c, HeadSequenceClassification, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"attn": "eager", "head": HeadSequenceClassification, "hidden_size": "768", "attention_head_size": "64",
		"embedding_size": "768", "pooler_hidden_size": "768", "pooler_hidden_act": "gelu", "c2p": "true", "p2c": "true",
		"norm_rel_ebd_layer_norm": "true", "share_att_key": "true", "position_buckets": "256",
		"max_relative_positions": "-1", "position_biased_input": "false", "relative_attention": "true",
		"type_vocab_size": "0", "layer_norm_eps": "1e-07", "legacy": "true", "conv_kernel_size": "0", "num_labels": "2",
	}
	for k, v := range want {
		if kv[k] != v {
			t.Errorf("%s = %q, want %q", k, kv[k], v)
		}
	}
	if _, err := a.Config(c, HeadBase, "sdpa"); err == nil {
		t.Error("sdpa attention was accepted; transformers has eager only for deberta-v2")
	}
}

// DebertaV2Config's defaults, and pos_att_type as a list (kept as it is:
// the config class lower-cases only the string form).
func TestDebertaV2ConfigDefaults(t *testing.T) {
	a, _ := Lookup("deberta-v2")
	kv, err := a.Config(rawConfig(t, `{"model_type": "deberta-v2", "pos_att_type": ["C2P", "p2c"]}`), HeadBase, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"vocab_size": "128100", "hidden_size": "1536", "num_hidden_layers": "24", "num_attention_heads": "24",
		"intermediate_size": "6144", "type_vocab_size": "0", "layer_norm_eps": "1e-07", "relative_attention": "false",
		"position_biased_input": "true", "c2p": "false", "p2c": "true", "norm_rel_ebd_layer_norm": "false",
		"conv_act": "tanh", "conv_groups": "1", "share_att_key": "false", "position_buckets": "-1",
	}
	for k, v := range want {
		if kv[k] != v {
			t.Errorf("%s = %q, want %q", k, kv[k], v)
		}
	}
	if _, err := a.Config(rawConfig(t, `{"pos_att_type": 3}`), HeadBase, ""); err == nil {
		t.Error("a numeric pos_att_type was accepted")
	}
}

func TestMPNetConfigDefaults(t *testing.T) {
	a, ok := Lookup("mpnet")
	if !ok {
		t.Fatal("mpnet is not registered")
	}
	kv, err := a.Config(rawConfig(t, `{"model_type": "mpnet"}`), HeadBase, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"attn": "eager", "vocab_size": "30527", "hidden_size": "768", "num_hidden_layers": "12",
		"num_attention_heads": "12", "intermediate_size": "3072", "hidden_act": "gelu", "layer_norm_eps": "1e-12",
		"max_position_embeddings": "512", "relative_attention_num_buckets": "32",
	}
	for k, v := range want {
		if kv[k] != v {
			t.Errorf("%s = %q, want %q", k, kv[k], v)
		}
	}
}
