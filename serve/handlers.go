package serve

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/pipeline"
)

// Prediction is one label of a /predict answer (TEI's Prediction).
type Prediction struct {
	Score float32 `json:"score"`
	Label string  `json:"label"`
}

// Rank is one text of a /rerank answer (TEI's Rank).
type Rank struct {
	Index int     `json:"index"`
	Text  *string `json:"text,omitempty"`
	Score float32 `json:"score"`
}

// SimpleToken is one token of a /tokenize answer (TEI's SimpleToken):
// start and stop are byte offsets in the input, null for special tokens.
type SimpleToken struct {
	ID      int64  `json:"id"`
	Text    string `json:"text"`
	Special bool   `json:"special"`
	Start   *int   `json:"start"`
	Stop    *int   `json:"stop"`
}

func (s *Server) notA(kind string) *apiError {
	return newError(ErrBackend, "model_type", "Backend error: Model is not "+kind+" model (this server runs a "+s.a.kind.String()+" model)")
}

func (s *Server) truncate(t truncation) bool {
	if t.Truncate != nil {
		return *t.Truncate
	}
	return s.o.autoTruncate
}

// checkEmpty applies TEI's rule: an input with no text is an Empty error.
func checkEmpty(seqs []sequence) *apiError {
	for _, q := range seqs {
		if q.A == "" && q.B == "" {
			return newError(ErrEmpty, "validation", "Input validation error: `inputs` cannot be empty")
		}
	}
	return nil
}

// classify runs the sequences through a classifier and returns each one's
// labels, best first.
func (s *Server) classify(w http.ResponseWriter, r *http.Request, seqs []sequence, tr truncation, t *timings, raw bool, fn pipeline.Function, topK int) ([][]pipeline.Result, *apiError) {
	if e := checkEmpty(seqs); e != nil {
		return nil, e
	}
	for _, q := range seqs {
		t.chars += q.chars()
	}
	out, e := s.run(r, len(seqs), t, func(ctx context.Context) ([]tokenizer.Encoding, *apiError) {
		return s.a.encode(ctx, seqs, s.truncate(tr), tr.Direction.left())
	})
	if e != nil {
		return nil, e
	}
	res := make([][]pipeline.Result, len(out))
	for i, logits := range out {
		res[i] = s.a.scores(logits, raw, fn, topK)
		for _, x := range res[i] {
			if math.IsNaN(x.Score) {
				return nil, newError(ErrBackend, "backend", "score is NaN")
			}
		}
	}
	return res, nil
}

func predictions(rs []pipeline.Result) []Prediction {
	out := make([]Prediction, len(rs))
	for i, x := range rs {
		out[i] = Prediction{Score: float32(x.Score), Label: x.Label}
	}
	return out
}

// handlePredict is TEI's POST /predict.
func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	t := &timings{start: time.Now()}
	var req predictRequest
	body, e := s.readBody(w, r)
	if e == nil {
		e = decodeBody(body, &req)
	}
	var seqs []sequence
	var batch bool
	if e == nil {
		seqs, batch, e = parsePredictInputs(req.Inputs)
	}
	if e == nil {
		s.m.requestCount.Inc(methodOf(batch))
		if s.a.kind == kindEmbedding {
			e = s.notA("a classifier")
		} else if batch {
			e = s.checkBatch(len(seqs), "inputs")
		}
	}
	var res [][]pipeline.Result
	if e == nil {
		res, e = s.classify(w, r, seqs, req.truncation, t, req.RawScores, pipeline.FunctionAuto, pipeline.AllLabels)
	}
	if e != nil {
		s.fail(w, r, e)
		return
	}
	if !batch {
		s.succeed(w, r, "single", t, predictions(res[0]))
		return
	}
	out := make([][]Prediction, len(res))
	for i := range res {
		out[i] = predictions(res[i])
	}
	s.succeed(w, r, "batch", t, out)
}

// handleRerank is TEI's POST /rerank: (query, text) pairs through a
// one-label classifier, best first.
func (s *Server) handleRerank(w http.ResponseWriter, r *http.Request) {
	t := &timings{start: time.Now()}
	var req rerankRequest
	body, e := s.readBody(w, r)
	if e == nil {
		e = decodeBody(body, &req)
	}
	if e == nil {
		s.m.requestCount.Inc("batch")
		switch {
		case req.Query == nil:
			e = validation("Failed to deserialize the JSON body into the target type: missing field `query`")
		case len(req.Texts) == 0:
			e = newError(ErrEmpty, "validation", "`texts` cannot be empty")
		case s.a.kind != kindReranker:
			e = newError(ErrBackend, "model_type", "Backend error: model is not a re-ranker model (a sequence classifier with one label)")
		default:
			e = s.checkBatch(len(req.Texts), "texts")
		}
	}
	var res [][]pipeline.Result
	if e == nil {
		seqs := make([]sequence, len(req.Texts))
		for i, x := range req.Texts {
			seqs[i] = sequence{A: *req.Query, B: x, Pair: true}
		}
		res, e = s.classify(w, r, seqs, req.truncation, t, req.RawScores, pipeline.FunctionAuto, pipeline.AllLabels)
	}
	if e != nil {
		s.fail(w, r, e)
		return
	}
	ranks := make([]Rank, len(res))
	for i := range res {
		ranks[i] = Rank{Index: i, Score: float32(res[i][0].Score)}
		if req.ReturnText {
			ranks[i].Text = &req.Texts[i]
		}
	}
	sort.SliceStable(ranks, func(a, b int) bool { return ranks[a].Score > ranks[b].Score })
	s.succeed(w, r, "batch", t, ranks)
}

// embed runs embedding inputs and returns one vector each: normalized to
// unit length unless asked not to, cut to dimensions if given.
func (s *Server) embed(w http.ResponseWriter, r *http.Request, ins []embedInput, tr truncation, normalize bool, dims *int, t *timings) ([][]float32, *apiError) {
	for _, in := range ins {
		if !in.IsIDs && in.Text == "" || in.IsIDs && len(in.IDs) == 0 {
			return nil, newError(ErrEmpty, "validation", "Input validation error: `inputs` cannot be empty")
		}
		t.chars += in.chars()
	}
	if dims != nil && *dims <= 0 {
		return nil, validation("`dimensions` must be positive")
	}
	out, e := s.run(r, len(ins), t, func(ctx context.Context) ([]tokenizer.Encoding, *apiError) {
		encs := make([]tokenizer.Encoding, len(ins))
		var texts []sequence
		var at []int
		for i, in := range ins {
			if in.IsIDs {
				enc, e := s.a.fromIDs(in.IDs, s.truncate(tr), tr.Direction.left())
				if e != nil {
					return nil, e
				}
				encs[i] = enc
				continue
			}
			texts = append(texts, sequence{A: in.Text})
			at = append(at, i)
		}
		te, e := s.a.encode(ctx, texts, s.truncate(tr), tr.Direction.left())
		if e != nil {
			return nil, e
		}
		for k, i := range at {
			encs[i] = te[k]
		}
		return encs, nil
	})
	if e != nil {
		return nil, e
	}
	for i, v := range out {
		if dims != nil {
			if *dims > len(v) {
				return nil, validation("`dimensions` is larger than the model's embedding size")
			}
			v = v[:*dims]
		}
		if normalize {
			v = l2normalize(v)
		}
		if !finite(v) {
			return nil, newError(ErrBackend, "backend", "the embedding has a NaN or infinite value")
		}
		out[i] = v
	}
	return out, nil
}

// l2normalize divides v by its Euclidean norm (computed in float32, as
// torch.nn.functional.normalize does; a zero vector stays zero).
func l2normalize(v []float32) []float32 {
	var ss float32
	for _, x := range v {
		ss += x * x
	}
	n := max(float32(math.Sqrt(float64(ss))), 1e-12)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x / n
	}
	return out
}

// handleEmbed is TEI's POST /embed.
func (s *Server) handleEmbed(w http.ResponseWriter, r *http.Request) {
	t := &timings{start: time.Now()}
	var req embedRequest
	body, e := s.readBody(w, r)
	if e == nil {
		e = decodeBody(body, &req)
	}
	var ins []embedInput
	var batch bool
	if e == nil {
		ins, batch, e = parseEmbedInputs(req.Inputs)
	}
	var out [][]float32
	if e == nil {
		out, e = s.embedChecked(w, r, ins, batch, req.truncation, req.Normalize, req.PromptName, req.Dimensions, t)
	}
	if e != nil {
		s.fail(w, r, e)
		return
	}
	s.succeed(w, r, methodOf(batch), t, out)
}

func (s *Server) embedChecked(w http.ResponseWriter, r *http.Request, ins []embedInput, batch bool, tr truncation, normalize *bool, prompt *string, dims *int, t *timings) ([][]float32, *apiError) {
	s.m.requestCount.Inc(methodOf(batch))
	if s.a.kind != kindEmbedding {
		return nil, s.notA("an embedding")
	}
	if prompt != nil {
		return nil, validation("Input validation error: prompt_name is set but this model has no sentence-transformers prompts")
	}
	if batch {
		if e := s.checkBatch(len(ins), "inputs"); e != nil {
			return nil, e
		}
	}
	return s.embed(w, r, ins, tr, normalize == nil || *normalize, dims, t)
}

// handleInference is the Hugging Face inference API's POST /: {"inputs":
// ..., "parameters": {...}}. A classifier answers a list of labels per
// input (every label unless top_k says fewer); an embedding model one
// vector per input; a re-ranker takes TEI's /rerank body.
func (s *Server) handleInference(w http.ResponseWriter, r *http.Request) {
	if s.a.kind == kindReranker {
		s.handleRerank(w, r)
		return
	}
	t := &timings{start: time.Now()}
	body, e := s.readBody(w, r)
	var req inferenceRequest
	if e == nil {
		e = decodeBody(body, &req)
	}
	if e != nil {
		s.fail(w, r, e)
		return
	}
	if s.a.kind == kindEmbedding {
		// Parameters at the root (huggingface_hub) or under "parameters".
		var p embedRequest
		if e = decodeBody(body, &p); e == nil && kind(req.Parameters) == '{' {
			e = decodeBody(req.Parameters, &p)
		}
		var ins []embedInput
		var batch bool
		if e == nil {
			ins, batch, e = parseEmbedInputs(req.Inputs)
		}
		var out [][]float32
		if e == nil {
			out, e = s.embedChecked(w, r, ins, batch, p.truncation, p.Normalize, p.PromptName, p.Dimensions, t)
		}
		if e != nil {
			s.fail(w, r, e)
			return
		}
		s.succeed(w, r, methodOf(batch), t, out)
		return
	}
	var p classificationParameters
	if kind(req.Parameters) == '{' {
		e = decodeBody(req.Parameters, &p)
	} else if kind(req.Parameters) != 0 && string(req.Parameters) != "null" {
		e = validation("parameters: want an object")
	}
	fn := pipeline.FunctionAuto
	topK := pipeline.AllLabels
	if e == nil && p.FunctionToApply != nil {
		var err error
		if fn, err = pipeline.ParseFunction(*p.FunctionToApply); err != nil {
			e = validation("parameters.function_to_apply: " + err.Error())
		}
	}
	if e == nil && p.TopK != nil {
		if *p.TopK < 1 {
			e = validation("parameters.top_k must be at least 1")
		}
		topK = *p.TopK
	}
	var seqs []sequence
	var batch bool
	if e == nil {
		seqs, batch, e = parseInferenceInputs(req.Inputs)
	}
	if e == nil {
		s.m.requestCount.Inc(methodOf(batch))
		if batch {
			e = s.checkBatch(len(seqs), "inputs")
		}
	}
	var res [][]pipeline.Result
	if e == nil {
		res, e = s.classify(w, r, seqs, p.truncation, t, false, fn, topK)
	}
	if e != nil {
		s.fail(w, r, e)
		return
	}
	out := make([][]Prediction, len(res))
	for i := range res {
		out[i] = predictions(res[i])
	}
	s.succeed(w, r, methodOf(batch), t, out)
}

// handleTokenize is TEI's POST /tokenize.
func (s *Server) handleTokenize(w http.ResponseWriter, r *http.Request) {
	t := &timings{start: time.Now()}
	var req tokenizeRequest
	body, e := s.readBody(w, r)
	if e == nil {
		e = decodeBody(body, &req)
	}
	var texts []string
	var batch bool
	if e == nil {
		texts, batch, e = parseStrings(req.Inputs, "inputs")
	}
	if e == nil && batch {
		e = s.checkBatch(len(texts), "inputs")
	}
	if e == nil && req.PromptName != nil {
		e = validation("Input validation error: prompt_name is set but this model has no sentence-transformers prompts")
	}
	if e != nil {
		s.fail(w, r, e)
		return
	}
	o := tokenizer.Options{NoSpecialTokens: req.AddSpecialTokens != nil && !*req.AddSpecialTokens}
	b, err := s.a.tok.EncodeBatch(r.Context(), texts, o)
	if err != nil {
		s.fail(w, r, newError(ErrTokenizer, "tokenization", "tokenizer error "+err.Error()))
		return
	}
	t.tokenize = time.Since(t.start)
	out := make([][]SimpleToken, len(texts))
	for i, enc := range b.Encodings {
		toks := make([]SimpleToken, len(enc.IDs))
		for k := range enc.IDs {
			st := SimpleToken{ID: enc.IDs[k], Text: enc.Tokens[k], Special: enc.SpecialTokensMask[k] == 1}
			if !st.Special {
				o := enc.ByteOffsets[k]
				start, stop := o.Start, o.End
				st.Start, st.Stop = &start, &stop
				st.Text = string([]rune(string([]byte(texts[i][start:stop])))) // lossy UTF-8, as TEI
			}
			toks[k] = st
		}
		out[i] = toks
		t.tokens += len(toks)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleDecode is TEI's POST /decode.
func (s *Server) handleDecode(w http.ResponseWriter, r *http.Request) {
	var req decodeRequest
	body, e := s.readBody(w, r)
	if e == nil {
		e = decodeBody(body, &req)
	}
	var lists [][]int64
	var batch bool
	if e == nil {
		lists, batch, e = parseIDLists(req.IDs)
	}
	if e == nil && batch {
		e = s.checkBatch(len(lists), "ids")
	}
	vocab := int64(s.a.tok.VocabSize())
	for _, ids := range lists {
		for _, id := range ids {
			if e == nil && id >= vocab {
				e = newError(ErrTokenizer, "tokenization", "tokenizer error: token id "+itoa(id)+" is outside the vocabulary (size "+itoa(vocab)+")")
			}
		}
	}
	if e != nil {
		s.fail(w, r, e)
		return
	}
	skip := req.SkipSpecialTokens == nil || *req.SkipSpecialTokens
	out := make([]string, len(lists))
	for i, ids := range lists {
		out[i] = s.a.tok.Decode(ids, skip)
	}
	writeJSON(w, http.StatusOK, out)
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
