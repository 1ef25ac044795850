package hf_test

import (
	"context"
	"fmt"
	"os"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/hub/hubtest"
)

func ExampleAutoConfigLoader_FromPretrained() {
	// A fake Hub stands in for huggingface.co here.
	s := hubtest.New()
	defer s.Close()
	s.Repo("distilbert/sst2").Commit("main", map[string][]byte{"config.json": []byte(cfgTestSST2JSON)})
	cache, _ := os.MkdirTemp("", "hf-example")
	defer os.RemoveAll(cache)

	cfg, err := hf.AutoConfig.FromPretrained(context.Background(), "distilbert/sst2",
		hf.WithEndpoint(s.URL), hf.WithCacheDir(cache), hf.WithToken(""), hf.WithOffline(false))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.ModelType, cfg.NumLabels(), cfg.Label(0), cfg.Label(1), cfg.HiddenSize)
	// Output: distilbert 2 NEGATIVE POSITIVE 768
}

func ExampleParseConfig() {
	_, err := hf.ParseConfig([]byte(`{"model_type": "bert", "id2label": {"zero": "NEG"}}`), "model/config.json")
	fmt.Println(err)
	_, err = hf.ParseConfig([]byte("{\n  \"model_type\": \"bert\",\n}"), "model/config.json")
	fmt.Println(err)
	// Output:
	// hf: config model/config.json: field "id2label": key "zero" is not an integer class index
	// hf: config model/config.json:3:1 (byte 27): invalid character '}' looking for beginning of object key string
}

func ExampleConfig_Decode() {
	cfg, _ := hf.ParseConfig([]byte(cfgTestSST2JSON), "config.json")
	var dropout float64
	if err := cfg.Decode("seq_classif_dropout", &dropout); err != nil {
		fmt.Println(err)
	}
	fmt.Println(dropout, string(cfg.Extra["activation"]))
	// Output: 0.2 "gelu"
}
