package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// This file reads request bodies the way TEI's serde types do: the same
// shapes are accepted, unknown fields are ignored, and anything else is a
// Validation error that says what was expected.

// sequence is one input of /predict: a text or a text pair.
type sequence struct {
	A, B string
	Pair bool
}

func (s sequence) chars() int {
	return len([]rune(s.A)) + len([]rune(s.B))
}

// truncation is the truncate/truncation_direction pair of TEI requests.
type truncation struct {
	Truncate  *bool     `json:"truncate"`
	Direction direction `json:"truncation_direction"`
}

// direction is TEI's TruncationDirection ("Right" by default).
type direction string

func (d *direction) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("truncation_direction: want \"left\" or \"right\"")
	}
	switch s {
	case "Left", "left":
		*d = "left"
	case "Right", "right":
		*d = "right"
	default:
		return fmt.Errorf("truncation_direction %q: want \"left\" or \"right\"", s)
	}
	return nil
}

func (d direction) left() bool { return d == "left" }

type predictRequest struct {
	Inputs json.RawMessage `json:"inputs"`
	truncation
	RawScores bool `json:"raw_scores"`
}

type rerankRequest struct {
	Query *string  `json:"query"`
	Texts []string `json:"texts"`
	truncation
	RawScores  bool `json:"raw_scores"`
	ReturnText bool `json:"return_text"`
}

type embedRequest struct {
	Inputs json.RawMessage `json:"inputs"`
	truncation
	Normalize  *bool   `json:"normalize"`
	PromptName *string `json:"prompt_name"`
	Dimensions *int    `json:"dimensions"`
}

type tokenizeRequest struct {
	Inputs           json.RawMessage `json:"inputs"`
	AddSpecialTokens *bool           `json:"add_special_tokens"`
	PromptName       *string         `json:"prompt_name"`
}

type decodeRequest struct {
	IDs               json.RawMessage `json:"ids"`
	SkipSpecialTokens *bool           `json:"skip_special_tokens"`
}

// inferenceRequest is the Hugging Face inference API's body; feature
// extraction also takes its parameters at the root (huggingface_hub sends
// them there), so both places are read.
type inferenceRequest struct {
	Inputs     json.RawMessage `json:"inputs"`
	Parameters json.RawMessage `json:"parameters"`
}

type classificationParameters struct {
	FunctionToApply *string `json:"function_to_apply"`
	TopK            *int    `json:"top_k"`
	truncation
}

// decodeBody unmarshals a request body into v; errors are Validation
// errors with encoding/json's explanation.
func decodeBody(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return validation("the request body is empty: send a JSON object (Content-Type: application/json)")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return validation(fmt.Sprintf("the request body is not valid JSON (at byte %d): %v", se.Offset, err))
		}
		return validation("Failed to deserialize the JSON body into the target type: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// kind is the first significant byte of a JSON value.
func kind(raw json.RawMessage) byte {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

const predictShapes = "a string, a pair of strings [string, string] or a batch of mixed strings and pairs [[string], [string, string], ...]"

// parsePredictInputs reads TEI's PredictInput: "text", ["a", "b"] (a
// pair), or [["text"], ["a", "b"], ...] (a batch). batch reports the last.
func parsePredictInputs(raw json.RawMessage) (seqs []sequence, batch bool, e *apiError) {
	bad := func() ([]sequence, bool, *apiError) {
		return nil, false, validation("inputs: want " + predictShapes)
	}
	switch kind(raw) {
	case 0:
		return nil, false, validation("missing field `inputs`")
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return bad()
		}
		return []sequence{{A: s}}, false, nil
	case '[':
	default:
		return bad()
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil || len(items) == 0 {
		return bad()
	}
	if kind(items[0]) == '"' { // a single text or pair
		var ss []string
		if json.Unmarshal(raw, &ss) != nil || len(ss) > 2 {
			return bad()
		}
		if len(ss) == 2 {
			return []sequence{{A: ss[0], B: ss[1], Pair: true}}, false, nil
		}
		return []sequence{{A: ss[0]}}, false, nil
	}
	seqs = make([]sequence, len(items))
	for i, it := range items {
		var ss []string
		if json.Unmarshal(it, &ss) != nil || len(ss) < 1 || len(ss) > 2 {
			return bad()
		}
		seqs[i] = sequence{A: ss[0]}
		if len(ss) == 2 {
			seqs[i] = sequence{A: ss[0], B: ss[1], Pair: true}
		}
	}
	return seqs, true, nil
}

// embedInput is one input of /embed: a text, or token ids.
type embedInput struct {
	Text  string
	IDs   []int64
	IsIDs bool
}

func (in embedInput) chars() int {
	if in.IsIDs {
		return len(in.IDs)
	}
	return len([]rune(in.Text))
}

// parseEmbedInputs reads TEI's Input: "text", [ids...], or a batch of
// texts and id lists.
func parseEmbedInputs(raw json.RawMessage) (ins []embedInput, batch bool, e *apiError) {
	bad := func() ([]embedInput, bool, *apiError) {
		return nil, false, validation("inputs: want a string, a list of token ids, or a batch of strings and id lists")
	}
	one := func(r json.RawMessage) (embedInput, bool) {
		switch kind(r) {
		case '"':
			var s string
			err := json.Unmarshal(r, &s)
			return embedInput{Text: s}, err == nil
		case '[':
			ids, ok := parseIDs(r)
			return embedInput{IDs: ids, IsIDs: true}, ok
		}
		return embedInput{}, false
	}
	switch kind(raw) {
	case 0:
		return nil, false, validation("missing field `inputs`")
	case '"':
		in, ok := one(raw)
		if !ok {
			return bad()
		}
		return []embedInput{in}, false, nil
	case '[':
	default:
		return bad()
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return bad()
	}
	if len(items) > 0 && kind(items[0]) != '"' && kind(items[0]) != '[' { // a single id list
		in, ok := one(raw)
		if !ok {
			return bad()
		}
		return []embedInput{in}, false, nil
	}
	ins = make([]embedInput, len(items))
	for i, it := range items {
		in, ok := one(it)
		if !ok {
			return bad()
		}
		ins[i] = in
	}
	return ins, true, nil
}

// parseIDs reads a JSON list of u32 token ids.
func parseIDs(r json.RawMessage) ([]int64, bool) {
	var v []uint32
	if json.Unmarshal(r, &v) != nil {
		return nil, false
	}
	ids := make([]int64, len(v))
	for i, x := range v {
		ids[i] = int64(x)
	}
	return ids, true
}

// parseStrings reads "text" or ["text", ...] (TokenizeInput).
func parseStrings(raw json.RawMessage, field string) (texts []string, batch bool, e *apiError) {
	switch kind(raw) {
	case 0:
		return nil, false, validation("missing field `" + field + "`")
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []string{s}, false, nil
		}
	case '[':
		var ss []string
		if json.Unmarshal(raw, &ss) == nil {
			return ss, true, nil
		}
	}
	return nil, false, validation(field + ": want a string or a list of strings")
}

// parseIDLists reads [ids...] or [[ids...], ...] (InputIds).
func parseIDLists(raw json.RawMessage) (lists [][]int64, batch bool, e *apiError) {
	bad := validation("ids: want a list of token ids or a list of such lists")
	if kind(raw) == 0 {
		return nil, false, validation("missing field `ids`")
	}
	if ids, ok := parseIDs(raw); ok {
		return [][]int64{ids}, false, nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, false, bad
	}
	for _, it := range items {
		ids, ok := parseIDs(it)
		if !ok {
			return nil, false, bad
		}
		lists = append(lists, ids)
	}
	return lists, true, nil
}

// parseInferenceInputs reads the inference API's text-classification
// inputs: "text", ["text", ...], {"text": ..., "text_pair": ...} or a list
// of such objects (what transformers' pipeline accepts).
func parseInferenceInputs(raw json.RawMessage) (seqs []sequence, batch bool, e *apiError) {
	type pairObj struct {
		Text     *string `json:"text"`
		TextPair *string `json:"text_pair"`
	}
	obj := func(r json.RawMessage) (sequence, bool) {
		var p pairObj
		if json.Unmarshal(r, &p) != nil || p.Text == nil {
			return sequence{}, false
		}
		if p.TextPair != nil {
			return sequence{A: *p.Text, B: *p.TextPair, Pair: true}, true
		}
		return sequence{A: *p.Text}, true
	}
	bad := validation(`inputs: want a string, a list of strings, {"text": ..., "text_pair": ...} or a list of those`)
	switch kind(raw) {
	case 0:
		return nil, false, validation("missing field `inputs`")
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []sequence{{A: s}}, false, nil
		}
	case '{':
		if s, ok := obj(raw); ok {
			return []sequence{s}, false, nil
		}
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil, false, bad
		}
		for _, it := range items {
			var s sequence
			ok := false
			switch kind(it) {
			case '"':
				ok = json.Unmarshal(it, &s.A) == nil
			case '{':
				s, ok = obj(it)
			}
			if !ok {
				return nil, false, bad
			}
			seqs = append(seqs, s)
		}
		return seqs, true, nil
	}
	return nil, false, bad
}

// finite reports whether every value is a finite float (JSON has no NaN).
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
