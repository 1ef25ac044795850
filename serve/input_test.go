package serve

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePredictInputs(t *testing.T) {
	cases := []struct {
		in    string
		want  []sequence
		batch bool
		bad   bool
	}{
		{in: `"a"`, want: []sequence{{A: "a"}}},
		{in: `["a"]`, want: []sequence{{A: "a"}}},
		{in: `["a","b"]`, want: []sequence{{A: "a", B: "b", Pair: true}}},
		{in: `[["a"],["b","c"]]`, want: []sequence{{A: "a"}, {A: "b", B: "c", Pair: true}}, batch: true},
		{in: `["a","b","c"]`, bad: true},
		{in: `[["a","b","c"]]`, bad: true},
		{in: `[[]]`, bad: true},
		{in: `[]`, bad: true},
		{in: `3`, bad: true},
		{in: `{"text":"a"}`, bad: true},
		{in: `[["a"], "b"]`, bad: true},
		{in: ``, bad: true},
	}
	for _, c := range cases {
		got, batch, e := parsePredictInputs(json.RawMessage(c.in))
		if c.bad {
			require.NotNil(t, e, c.in)
			assert.Equal(t, ErrValidation, e.typ)
			continue
		}
		require.Nil(t, e, c.in)
		assert.Equal(t, c.want, got, c.in)
		assert.Equal(t, c.batch, batch, c.in)
	}
}

func TestParseEmbedInputs(t *testing.T) {
	got, batch, e := parseEmbedInputs(json.RawMessage(`"a"`))
	require.Nil(t, e)
	assert.False(t, batch)
	assert.Equal(t, []embedInput{{Text: "a"}}, got)
	got, batch, e = parseEmbedInputs(json.RawMessage(`[101, 7, 102]`))
	require.Nil(t, e)
	assert.False(t, batch)
	assert.Equal(t, []embedInput{{IDs: []int64{101, 7, 102}, IsIDs: true}}, got)
	got, batch, e = parseEmbedInputs(json.RawMessage(`["a", [5]]`))
	require.Nil(t, e)
	assert.True(t, batch)
	assert.Equal(t, []embedInput{{Text: "a"}, {IDs: []int64{5}, IsIDs: true}}, got)
	for _, bad := range []string{`[-1]`, `[1.5]`, `{"a":1}`, `[{"a":1}]`, `["a", 3]`, `null`} {
		_, _, e := parseEmbedInputs(json.RawMessage(bad))
		assert.NotNil(t, e, bad)
	}
}

func TestParseInferenceInputs(t *testing.T) {
	got, batch, e := parseInferenceInputs(json.RawMessage(`{"text":"a","text_pair":"b"}`))
	require.Nil(t, e)
	assert.False(t, batch)
	assert.Equal(t, []sequence{{A: "a", B: "b", Pair: true}}, got)
	got, batch, e = parseInferenceInputs(json.RawMessage(`["a", {"text":"b"}]`))
	require.Nil(t, e)
	assert.True(t, batch)
	assert.Equal(t, []sequence{{A: "a"}, {A: "b"}}, got)
	_, _, e = parseInferenceInputs(json.RawMessage(`[{"text_pair":"b"}]`))
	assert.NotNil(t, e)
}

func TestDecodeBodyErrors(t *testing.T) {
	var req predictRequest
	e := decodeBody([]byte(`{"inputs": "a", "raw_scores": "yes"}`), &req)
	require.NotNil(t, e)
	assert.Equal(t, 422, e.status)
	assert.Contains(t, e.msg, "raw_scores")
	e = decodeBody([]byte(`{"inputs": `), &req)
	require.NotNil(t, e)
	assert.Contains(t, e.msg, "not valid JSON")
	e = decodeBody([]byte(`{"inputs": "a", "truncation_direction": "up"}`), &req)
	require.NotNil(t, e)
	assert.Contains(t, e.msg, "truncation_direction")
	require.Nil(t, decodeBody([]byte(`{"inputs": "a", "truncation_direction": "Left", "extra": 1}`), &req))
	assert.True(t, req.Direction.left())
}

// FuzzParseBodies feeds arbitrary bytes to every body parser: errors, never
// panics (request bodies are untrusted).
func FuzzParseBodies(f *testing.F) {
	for _, s := range []string{`{"inputs":"a"}`, `{"inputs":[["a"],["b","c"]]}`, `{"inputs":[1,2]}`, `{"ids":[[1],[2]]}`,
		`{"query":"q","texts":["a"]}`, `{"inputs":{"text":"a"},"parameters":{"top_k":1}}`, `[`, `{"inputs":[[]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p predictRequest
		if decodeBody(b, &p) == nil {
			parsePredictInputs(p.Inputs)
			parseEmbedInputs(p.Inputs)
			parseInferenceInputs(p.Inputs)
			parseStrings(p.Inputs, "inputs")
			parseIDLists(p.Inputs)
		}
		var r rerankRequest
		decodeBody(b, &r)
		var d decodeRequest
		if decodeBody(b, &d) == nil {
			parseIDLists(d.IDs)
		}
	})
}
