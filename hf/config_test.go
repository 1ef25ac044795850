package hf_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/hub"
	"github.com/hfpipe/hfpipe/hf/hub/hubtest"
	"github.com/hfpipe/hfpipe/internal/testenv"
)

// cfgTestSST2JSON is config.json of distilbert-base-uncased-finetuned-sst-2-english
// as published on the Hub: test input, not an expected output.
const cfgTestSST2JSON = `{
  "activation": "gelu",
  "architectures": [
    "DistilBertForSequenceClassification"
  ],
  "attention_dropout": 0.1,
  "dim": 768,
  "dropout": 0.1,
  "finetuning_task": "sst-2",
  "hidden_dim": 3072,
  "id2label": {
    "0": "NEGATIVE",
    "1": "POSITIVE"
  },
  "initializer_range": 0.02,
  "label2id": {
    "NEGATIVE": 0,
    "POSITIVE": 1
  },
  "max_position_embeddings": 512,
  "model_type": "distilbert",
  "n_heads": 12,
  "n_layers": 6,
  "output_past": true,
  "pad_token_id": 0,
  "qa_dropout": 0.1,
  "seq_classif_dropout": 0.2,
  "sinusoidal_pos_embds": false,
  "tie_weights_": true,
  "vocab_size": 30522
}
`

// writeConfig writes content as config.json in a new folder and returns it.
func writeConfigDir(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, hf.ConfigFile), []byte(content), 0o644))
	return dir
}

func TestLoadConfigDistilBERTSST2(t *testing.T) {
	dir := writeConfigDir(t, cfgTestSST2JSON)
	for _, p := range []string{dir, filepath.Join(dir, "config.json")} {
		c, err := hf.LoadConfig(p)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, "config.json"), c.Path)
		assert.Equal(t, "distilbert", c.ModelType)
		assert.Equal(t, []string{"DistilBertForSequenceClassification"}, c.Architectures)
		assert.Equal(t, map[int]string{0: "NEGATIVE", 1: "POSITIVE"}, c.ID2Label)
		assert.Equal(t, map[string]int{"NEGATIVE": 0, "POSITIVE": 1}, c.Label2ID)
		assert.Equal(t, 2, c.NumLabels())
		assert.Equal(t, "POSITIVE", c.Label(1))
		assert.Equal(t, "LABEL_7", c.Label(7))
		assert.Equal(t, []string{"NEGATIVE", "POSITIVE"}, c.Labels())
		assert.Empty(t, c.ProblemType)
		assert.Equal(t, 512, c.MaxPositionEmbeddings)
		assert.Equal(t, 30522, c.VocabSize)
		assert.Equal(t, 768, c.HiddenSize, "from dim")
		assert.Equal(t, 6, c.NumHiddenLayers, "from n_layers")
		assert.Equal(t, 12, c.NumAttentionHeads, "from n_heads")
		require.NotNil(t, c.PadTokenID)
		assert.Equal(t, 0, *c.PadTokenID)
		assert.Empty(t, c.DType)
	}
}

func TestConfigKeepsUnknownFields(t *testing.T) {
	c, err := hf.ParseConfig([]byte(cfgTestSST2JSON), "sst2/config.json")
	require.NoError(t, err)
	for _, k := range []string{"activation", "hidden_dim", "seq_classif_dropout", "sinusoidal_pos_embds", "tie_weights_", "finetuning_task", "output_past"} {
		assert.Contains(t, c.Extra, k)
	}
	assert.NotContains(t, c.Extra, "model_type", "typed fields are not repeated in Extra")
	assert.JSONEq(t, `"gelu"`, string(c.Extra["activation"]))

	raw, ok := c.Raw("dim")
	require.True(t, ok, "typed fields stay reachable raw")
	assert.Equal(t, "768", string(raw))
	var dropout float64
	require.NoError(t, c.Decode("seq_classif_dropout", &dropout))
	assert.Equal(t, 0.2, dropout)

	err = c.Decode("no_such_field", &dropout)
	require.ErrorIs(t, err, hf.ErrConfigFieldMissing)
	var s string
	err = c.Decode("hidden_dim", &s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `sst2/config.json: field "hidden_dim"`)
}

func TestConfigDefaults(t *testing.T) {
	parse := func(s string) *hf.Config {
		c, err := hf.ParseConfig([]byte(s), "config.json")
		require.NoError(t, err, s)
		return c
	}
	c := parse(`{"model_type": "bert", "hidden_size": 32, "dim": 99, "torch_dtype": "float32", "pad_token_id": null}`)
	assert.Equal(t, 2, c.NumLabels(), "PretrainedConfig's default")
	assert.Equal(t, map[int]string{0: "LABEL_0", 1: "LABEL_1"}, c.ID2Label)
	assert.Equal(t, map[string]int{"LABEL_0": 0, "LABEL_1": 1}, c.Label2ID)
	assert.Equal(t, 32, c.HiddenSize, "the standard name wins over the alias")
	assert.Equal(t, "float32", c.DType)
	assert.Nil(t, c.PadTokenID)

	c = parse(`{"model_type": "bert", "num_labels": 3, "dtype": "bfloat16", "torch_dtype": "float32"}`)
	assert.Equal(t, 3, c.NumLabels())
	assert.Equal(t, "LABEL_2", c.ID2Label[2])
	assert.Equal(t, "bfloat16", c.DType, "dtype wins over the older torch_dtype")

	c = parse(`{"model_type": "bert", "num_labels": 5, "id2label": {"0": "a", "1": "b", "2": "c"}}`)
	assert.Equal(t, 3, c.NumLabels(), "id2label wins over num_labels")
	assert.Equal(t, map[string]int{"a": 0, "b": 1, "c": 2}, c.Label2ID, "derived when absent")

	c = parse(`{"model_type": "bert", "id2label": {"0": "x", " 1": "y", "1_0": "z"}, "max_position_embeddings": 512.0}`)
	assert.Equal(t, map[int]string{0: "x", 1: "y", 10: "z"}, c.ID2Label, "keys as Python's int() reads them")
	assert.Equal(t, 512, c.MaxPositionEmbeddings)
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		field      string
		mentions   []string
	}{
		{"syntax error", "{\n  \"model_type\": \"bert\",\n  \"dim\": ,\n}", "", []string{":3:10", "invalid character ','"}},
		{"truncated", `{"model_type": "bert"`, "", []string{"unexpected end of JSON input"}},
		{"not an object", `["model_type"]`, "", []string{"top level is array"}},
		{"missing model_type", `{"dim": 768}`, "model_type", []string{"field missing", "AutoConfig"}},
		{"null model_type", `{"model_type": null}`, "model_type", []string{"field missing"}},
		{"mistyped model_type", `{"model_type": 7}`, "model_type", []string{"want a string, got a number (7)"}},
		{"non-numeric id2label key", `{"model_type": "bert", "id2label": {"0": "NEG", "pos": "POS"}}`, "id2label", []string{`key "pos" is not an integer class index`}},
		{"id2label not an object", `{"model_type": "bert", "id2label": ["NEG", "POS"]}`, "id2label", []string{"got an array"}},
		{"id2label label not a string", `{"model_type": "bert", "id2label": {"0": 1}}`, "id2label", []string{`label of "0": want a string`}},
		{"label2id value not an integer", `{"model_type": "bert", "label2id": {"NEG": "0"}}`, "label2id", []string{`label "NEG": want an integer, got a string`}},
		{"bad problem_type", `{"model_type": "bert", "problem_type": "ranking"}`, "problem_type", []string{`"ranking" is not one of`}},
		{"fractional size", `{"model_type": "bert", "vocab_size": 10.5}`, "vocab_size", []string{"want an integer, got 10.5"}},
		{"architectures not strings", `{"model_type": "bert", "architectures": "Bert"}`, "architectures", []string{"want an array of strings"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeConfigDir(t, tc.json)
			_, err := hf.LoadConfig(dir)
			require.Error(t, err)
			file := filepath.Join(dir, "config.json")
			assert.Contains(t, err.Error(), file, "the error names the file")
			var ce *hf.ConfigError
			require.True(t, errors.As(err, &ce))
			assert.Equal(t, tc.field, ce.Field)
			if tc.field != "" {
				assert.Contains(t, err.Error(), fmt.Sprintf("field %q", tc.field))
			}
			for _, m := range tc.mentions {
				assert.Contains(t, err.Error(), m)
			}
		})
	}

	_, err := hf.LoadConfig(filepath.Join(t.TempDir(), "nope"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestConfigParityWithTransformers loads the same files with
// transformers.AutoConfig and compares what post-processing depends on.
func TestConfigParityWithTransformers(t *testing.T) {
	cases := map[string]string{
		"sst2":            cfgTestSST2JSON,
		"defaults":        `{"model_type": "bert"}`,
		"num_labels only": `{"model_type": "bert", "num_labels": 3}`,
		"num_labels loses": `{"model_type": "distilbert", "num_labels": 2,
			"id2label": {"0": "a", "1": "b", "2": "c"}}`,
		"sparse multi-label": `{"model_type": "bert", "problem_type": "multi_label_classification",
			"id2label": {"0": "toxic", "5": "insult", "2": "threat"}, "label2id": {"toxic": 0, "insult": 5, "threat": 2}}`,
		"no label2id":       `{"model_type": "bert", "problem_type": "regression", "id2label": {"0": "score"}}`,
		"python int keys":   `{"model_type": "bert", "id2label": {"0": "x", " 1": "y", "1_0": "z", "+3": "w"}}`,
		"single label type": `{"model_type": "roberta", "problem_type": "single_label_classification", "torch_dtype": "float32"}`,
	}
	var dirs []string
	byDir := map[string]string{}
	for name, content := range cases {
		d := writeConfigDir(t, content)
		dirs = append(dirs, d)
		byDir[d] = name
	}
	out := testenv.RunPython(t, "hub_autoconfig.py", dirs...)

	type pyConfig struct {
		Dir         string            `json:"dir"`
		Error       string            `json:"error"`
		ModelType   string            `json:"model_type"`
		NumLabels   int               `json:"num_labels"`
		ID2Label    map[string]string `json:"id2label"`
		Label2ID    map[string]int    `json:"label2id"`
		ProblemType *string           `json:"problem_type"`
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, len(dirs), string(out))
	for _, line := range lines {
		var py pyConfig
		require.NoError(t, json.Unmarshal([]byte(line), &py), line)
		name := byDir[py.Dir]
		require.Empty(t, py.Error, name)
		c, err := hf.LoadConfig(py.Dir)
		require.NoError(t, err, name)

		assert.Equal(t, py.ModelType, c.ModelType, name)
		assert.Equal(t, py.NumLabels, c.NumLabels(), name)
		goID2Label := map[string]string{}
		for i, l := range c.ID2Label {
			goID2Label[fmt.Sprint(i)] = l
		}
		assert.Equal(t, py.ID2Label, goID2Label, name)
		if py.Label2ID != nil {
			assert.Equal(t, py.Label2ID, c.Label2ID, name)
		}
		want := ""
		if py.ProblemType != nil {
			want = *py.ProblemType
		}
		assert.Equal(t, want, c.ProblemType, name)
	}
}

// fakeModel puts a small model folder on a fake Hub.
func fakeHubModel(t *testing.T) (*hubtest.Server, string) {
	t.Helper()
	s := hubtest.New()
	t.Cleanup(s.Close)
	src := t.TempDir()
	for name, content := range map[string]string{
		"config.json":           cfgTestSST2JSON,
		"tokenizer.json":        `{"version": "1.0"}`,
		"tokenizer_config.json": `{"do_lower_case": true}`,
		"vocab.txt":             "[PAD]\n[UNK]\n",
		"model.safetensors":     "weights",
		"pytorch_model.bin":     "old weights",
		"hfpipe-model.pt":       "torchscript",
		"hfpipe-meta.json":      `{"head": "sequence-classification"}`,
		"README.md":             "# model",
		"onnx/model.onnx":       "onnx",
	} {
		p := filepath.Join(src, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	_, err := s.AddFolder("hfpipe-test/sst2", src)
	require.NoError(t, err)
	return s, t.TempDir()
}

func testHubOptions(endpoint, cache string, extra ...hub.Option) []hf.Option {
	c := hub.NewClient(append([]hub.Option{hub.WithEndpoint(endpoint), hub.WithCacheDir(cache), hub.WithToken(""),
		hub.WithOffline(false), hub.WithProgress(nil)}, extra...)...)
	return []hf.Option{hf.WithHubClient(c)}
}

func TestAutoConfigFromPretrained(t *testing.T) {
	s, cache := fakeHubModel(t)
	ctx := context.Background()

	c, err := hf.AutoConfig.FromPretrained(ctx, "hfpipe-test/sst2", testHubOptions(s.URL, cache)...)
	require.NoError(t, err)
	assert.Equal(t, "POSITIVE", c.Label(1))
	assert.Equal(t, filepath.Join(cache, "models--hfpipe-test--sst2", "snapshots", s.Repo("hfpipe-test/sst2").Head("main"), "config.json"), c.Path)
	assert.Equal(t, 1, s.Count("GET", "config.json"), "only the config is fetched")

	// The same through the plain options instead of a client.
	c2, err := hf.AutoConfig.FromPretrained(ctx, "hfpipe-test/sst2", hf.WithEndpoint(s.URL), hf.WithCacheDir(cache),
		hf.WithToken(""), hf.WithOffline(true), hf.WithRevision("main"))
	require.NoError(t, err)
	assert.Equal(t, c.Path, c2.Path)

	s.Close()
	c3, err := hf.AutoConfig.FromPretrained(ctx, "hfpipe-test/sst2", testHubOptions(s.URL, cache)...)
	require.NoError(t, err, "a dead Hub falls back to the cache")
	assert.Equal(t, c.ID2Label, c3.ID2Label)

	_, err = hf.AutoConfig.FromPretrained(ctx, "hfpipe-test/other", testHubOptions(s.URL, cache, hub.WithOffline(true))...)
	require.ErrorIs(t, err, hub.ErrNotCached)

	local := writeConfigDir(t, cfgTestSST2JSON)
	c4, err := hf.AutoConfig.FromPretrained(ctx, local)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(local, "config.json"), c4.Path)
	c5, err := hf.AutoConfig.FromPretrained(ctx, filepath.Join(local, "config.json"))
	require.NoError(t, err)
	assert.Equal(t, c4.Path, c5.Path)
}

func TestAutoConfigHubErrors(t *testing.T) {
	s, cache := fakeHubModel(t)
	ctx := context.Background()
	_, err := hf.AutoConfig.FromPretrained(ctx, "hfpipe-test/missing", testHubOptions(s.URL, cache)...)
	require.ErrorIs(t, err, hub.ErrRepoNotFound)
	assert.Contains(t, err.Error(), "hfpipe-test/missing")

	noConfig := s.Repo("hfpipe-test/no-config")
	noConfig.Commit("main", map[string][]byte{"README.md": []byte("x")})
	_, err = hf.AutoConfig.FromPretrained(ctx, "hfpipe-test/no-config", testHubOptions(s.URL, cache)...)
	require.ErrorIs(t, err, hub.ErrEntryNotFound)
	assert.Contains(t, err.Error(), `"config.json" not found`)

	bad := s.Repo("hfpipe-test/bad-config")
	bad.Commit("main", map[string][]byte{"config.json": []byte(`{"dim": 1}`)})
	_, err = hf.AutoConfig.FromPretrained(ctx, "hfpipe-test/bad-config", testHubOptions(s.URL, cache)...)
	require.ErrorIs(t, err, hf.ErrConfigFieldMissing)
	assert.Contains(t, err.Error(), "models--hfpipe-test--bad-config")
}
