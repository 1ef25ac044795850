package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// Auto is the value of a question-answering length setting that lets the
// pipeline choose as transformers does (its None).
const Auto = -1

// QuestionAnsweringSettings are question-answering's call keywords, with
// transformers' defaults.
type QuestionAnsweringSettings struct {
	// TopK is how many answers each input returns (default 1; fewer when
	// the context has fewer candidates).
	TopK int
	// DocStride is the overlap in tokens of the chunks a long context is
	// split into (Auto: min(MaxSeqLen/2, 128)).
	DocStride int
	// MaxSeqLen is the length of each chunk, question and special tokens
	// included (Auto: min(the tokenizer's model_max_length, 384)).
	MaxSeqLen int
	// MaxQuestionLen is transformers' max_question_len (default 64). Like
	// transformers with a fast tokenizer, the pipeline does not truncate
	// questions: a question too long for MaxSeqLen is an error.
	MaxQuestionLen int
	// MaxAnswerLen is the longest answer in tokens (default 15).
	MaxAnswerLen int
	// HandleImpossibleAnswer adds the empty answer (score: the model's
	// null score) as a candidate.
	HandleImpossibleAnswer bool
	// AlignToWords widens answers to whole words (default true).
	AlignToWords bool
}

func (s *QuestionAnsweringSettings) setTopK(k int) { s.TopK = k }

func (s *QuestionAnsweringSettings) check() error {
	switch {
	case s.TopK < 1:
		return fmt.Errorf("top_k parameter should be >= 1 (got %d)", s.TopK)
	case s.MaxAnswerLen < 1:
		return fmt.Errorf("max_answer_len parameter should be >= 1 (got %d)", s.MaxAnswerLen)
	case s.MaxSeqLen != Auto && s.MaxSeqLen < 1:
		return fmt.Errorf("max_seq_len must be at least 1 (got %d)", s.MaxSeqLen)
	case s.DocStride != Auto && s.DocStride < 0:
		return fmt.Errorf("doc_stride must be at least 0 (got %d)", s.DocStride)
	}
	return nil
}

var questionAnsweringTakes = []string{"top_k", "doc_stride", "max_seq_len", "max_question_len", "max_answer_len", "handle_impossible_answer", "align_to_words"}

// DocStride sets the overlap of a long context's chunks (transformers'
// doc_stride).
func DocStride(n int) CallOption {
	return callOption("doc_stride", func(s *QuestionAnsweringSettings) { s.DocStride = n })
}

// MaxSeqLen sets the token length of each question+context chunk
// (transformers' max_seq_len).
func MaxSeqLen(n int) CallOption {
	return callOption("max_seq_len", func(s *QuestionAnsweringSettings) { s.MaxSeqLen = n })
}

// MaxQuestionLen sets transformers' max_question_len (see
// QuestionAnsweringSettings).
func MaxQuestionLen(n int) CallOption {
	return callOption("max_question_len", func(s *QuestionAnsweringSettings) { s.MaxQuestionLen = n })
}

// MaxAnswerLen sets the longest answer in tokens (transformers'
// max_answer_len).
func MaxAnswerLen(n int) CallOption {
	return callOption("max_answer_len", func(s *QuestionAnsweringSettings) { s.MaxAnswerLen = n })
}

// HandleImpossibleAnswer lets the empty answer compete (transformers'
// handle_impossible_answer).
func HandleImpossibleAnswer(on bool) CallOption {
	return callOption("handle_impossible_answer", func(s *QuestionAnsweringSettings) { s.HandleImpossibleAnswer = on })
}

// AlignToWords widens answers to whole words (transformers' align_to_words).
func AlignToWords(on bool) CallOption {
	return callOption("align_to_words", func(s *QuestionAnsweringSettings) { s.AlignToWords = on })
}

// QAInput is one question about a context.
type QAInput struct {
	Question string `json:"question"`
	Context  string `json:"context"`
}

// Answer is one answer of question-answering: Answer is
// Context[ByteStart:ByteEnd]; Start and End are the same span in
// characters (code points), transformers' start and end.
type Answer struct {
	Score     float64 `json:"score"`
	Start     int     `json:"start"`
	End       int     `json:"end"`
	Answer    string  `json:"answer"`
	ByteStart int     `json:"byte_start"`
	ByteEnd   int     `json:"byte_end"`
}

// QuestionAnswering is the extractive question-answering pipeline. It is
// safe for concurrent use.
type QuestionAnswering struct {
	// Tokenizer encodes the inputs.
	Tokenizer *tokenizer.Tokenizer
	// Model computes the span start and end logits.
	Model *hf.ModelForQuestionAnswering

	opts     Options
	defaults QuestionAnsweringSettings
	borrowed bool
}

func qaBaseSettings() QuestionAnsweringSettings {
	return QuestionAnsweringSettings{TopK: 1, DocStride: Auto, MaxSeqLen: Auto, MaxQuestionLen: 64, MaxAnswerLen: 15, AlignToWords: true}
}

// NewQuestionAnswering loads the tokenizer and question-answering model of
// opts' model (WithModel is required).
func NewQuestionAnswering(ctx context.Context, opts ...Option) (*QuestionAnswering, error) {
	const task = "question-answering"
	if err := requireModel(task, opts); err != nil {
		return nil, err
	}
	o, tok, err := loadTokenizer(ctx, task, opts)
	if err != nil {
		return nil, err
	}
	model, err := hf.AutoModelForQuestionAnswering.FromPretrained(ctx, o.Model, o.hfOptions()...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", task, err)
	}
	p := &QuestionAnswering{Tokenizer: tok, Model: model, opts: *o}
	if p.defaults, err = applyCall(task, qaBaseSettings(), o.Defaults, questionAnsweringTakes); err != nil {
		model.Close()
		return nil, err
	}
	return p, nil
}

// NewQuestionAnsweringFrom makes a question-answering pipeline of a
// tokenizer and a model already loaded. The caller keeps the model.
func NewQuestionAnsweringFrom(tok *tokenizer.Tokenizer, model *hf.ModelForQuestionAnswering, opts ...Option) (*QuestionAnswering, error) {
	const task = "question-answering"
	var m *hf.Model
	if model != nil {
		m = model.Model
	}
	o, err := partsOptions(task, "NewQuestionAnswering", tok, m, "hf.AutoModelForQuestionAnswering", opts)
	if err != nil {
		return nil, err
	}
	p := &QuestionAnswering{Tokenizer: tok, Model: model, opts: *o, borrowed: true}
	if p.defaults, err = applyCall(task, qaBaseSettings(), o.Defaults, questionAnsweringTakes); err != nil {
		return nil, err
	}
	return p, nil
}

// Task returns "question-answering".
func (p *QuestionAnswering) Task() string { return "question-answering" }

// Close frees the model, except for a pipeline made with
// NewQuestionAnsweringFrom.
func (p *QuestionAnswering) Close() error {
	if p.borrowed || p.Model == nil {
		return nil
	}
	return p.Model.Close()
}

func (p *QuestionAnswering) settings() (*Options, QuestionAnsweringSettings) {
	if p.opts.BatchSize == 0 {
		return &literalOptions, qaBaseSettings()
	}
	return &p.opts, p.defaults
}

// RunAny runs Run on a []QAInput; the result is a [][]Answer.
func (p *QuestionAnswering) RunAny(ctx context.Context, inputs any, opts ...CallOption) (any, error) {
	in, ok := inputs.([]QAInput)
	if !ok {
		return nil, inputTypeError("question-answering", inputs, "[]QAInput")
	}
	return p.Run(ctx, in, opts...)
}

// qaSpan is one model input: a question with one chunk of its context.
type qaSpan struct {
	input        int
	enc          tokenizer.Encoding
	ctxFrom      int // the context tokens are enc[ctxFrom:ctxTo]
	ctxTo        int
	allowed      []bool // tokens an answer may start or end at (transformers' 1 - p_mask)
	start, end   []float32
	startWordTok []int // per token: the first token of its word (context tokens)
	endWordTok   []int // per token: the last token of its word
}

// Run answers each question from its context and returns, per input, its
// TopK answers, best first, as transformers' question-answering pipeline
// does. Call options: TopK, DocStride, MaxSeqLen, MaxQuestionLen,
// MaxAnswerLen, HandleImpossibleAnswer, AlignToWords.
func (p *QuestionAnswering) Run(ctx context.Context, inputs []QAInput, opts ...CallOption) ([][]Answer, error) {
	const task = "question-answering"
	if p.Model == nil || p.Model.Model == nil || p.Tokenizer == nil {
		return nil, errors.New("pipeline: question-answering lacks its Model or Tokenizer: make it with NewQuestionAnswering, or NewQuestionAnsweringFrom with parts from hf.AutoTokenizer and hf.AutoModelForQuestionAnswering")
	}
	o, base := p.settings()
	s, err := applyCall(task, base, opts, questionAnsweringTakes)
	if err != nil {
		return nil, err
	}
	spans, err := p.Preprocess(ctx, inputs, s)
	if err != nil {
		return nil, err
	}
	encs := make([]tokenizer.Encoding, len(spans))
	for i := range spans {
		encs[i] = spans[i].enc
	}
	err = eachRowBatch(ctx, p.Tokenizer, encs, o, func(rows []int, b *tokenizer.Batch) error {
		out, err := p.Model.Forward(ctx, b)
		if err != nil {
			return fmt.Errorf("pipeline: %s: %w", task, err)
		}
		st, err := floats(out.StartLogits)
		if err == nil {
			var en []float32
			if en, err = floats(out.EndLogits); err == nil {
				for k, r := range rows {
					n := len(encs[r].IDs)
					spans[r].start = st[k*b.SeqLen : k*b.SeqLen+n]
					spans[r].end = en[k*b.SeqLen : k*b.SeqLen+n]
				}
			}
		}
		out.Close()
		return err
	})
	if err != nil {
		return nil, err
	}
	results := make([][]Answer, len(inputs))
	for first := 0; first < len(spans); {
		last := first
		for last < len(spans) && spans[last].input == spans[first].input {
			last++
		}
		results[spans[first].input] = p.Postprocess(inputs[spans[first].input].Context, spans[first:last], s)
		first = last
	}
	return results, nil
}

// Preprocess encodes each question with its context, the context split
// into chunks of MaxSeqLen tokens overlapping by DocStride, as
// transformers' fast-tokenizer preprocess does (question first,
// truncation "only_second", return_overflowing_tokens).
func (p *QuestionAnswering) Preprocess(ctx context.Context, inputs []QAInput, s QuestionAnsweringSettings) ([]qaSpan, error) {
	maxSeq := s.MaxSeqLen
	if maxSeq == Auto {
		maxSeq = min(p.Tokenizer.ModelMaxLength(), 384)
	}
	stride := s.DocStride
	if stride == Auto {
		stride = min(maxSeq/2, 128)
	}
	if stride > maxSeq {
		return nil, fmt.Errorf("pipeline: question-answering: doc_stride (%d) is larger than max_seq_len (%d)", stride, maxSeq)
	}
	if lim := p.Model.MaxLength(); lim > 0 && maxSeq > lim {
		return nil, fmt.Errorf("pipeline: question-answering: max_seq_len %d exceeds the model's %d positions: pass MaxSeqLen(%d) or less", maxSeq, lim, lim)
	}
	pairs := make([]tokenizer.Pair, len(inputs))
	questions := make([]string, len(inputs))
	for i, in := range inputs {
		switch {
		case in.Question == "":
			return nil, fmt.Errorf("pipeline: question-answering: input %d: the question is empty", i)
		case in.Context == "":
			return nil, fmt.Errorf("pipeline: question-answering: input %d: the context is empty: give the text to find the answer in", i)
		}
		pairs[i] = tokenizer.Pair{A: in.Question, B: in.Context}
		questions[i] = in.Question
	}
	full, err := p.Tokenizer.EncodePairBatch(ctx, pairs, tokenizer.Options{})
	if err != nil {
		return nil, fmt.Errorf("pipeline: question-answering: preprocess: %w", err)
	}
	qs, err := p.Tokenizer.EncodeBatch(ctx, questions, tokenizer.Options{NoSpecialTokens: true})
	if err != nil {
		return nil, fmt.Errorf("pipeline: question-answering: preprocess: %w", err)
	}
	cls := p.Tokenizer.Specials().CLS.ID
	prefix := p.Tokenizer.ContinuingSubwordPrefix()
	var out []qaSpan
	for i, e := range full.Encodings {
		var content []int
		for k, m := range e.SpecialTokensMask {
			if m == 0 {
				content = append(content, k)
			}
		}
		nq := len(qs.Encodings[i].IDs)
		from, to := len(e.IDs), len(e.IDs)
		if len(content) > nq {
			from, to = content[nq], content[len(content)-1]+1
		} else if len(content) > 0 {
			from, to = content[len(content)-1]+1, content[len(content)-1]+1
		}
		parts := [][2]int{{0, to - from}}
		if total := len(e.IDs); total > maxSeq {
			remove := total - maxSeq
			if to-from <= remove {
				return nil, fmt.Errorf("pipeline: question-answering: input %d: the question takes %d tokens and the special tokens %d, leaving no room for the context within max_seq_len %d: shorten the question or raise MaxSeqLen", i, nq, total-nq-(to-from), maxSeq)
			}
			if parts, err = windows(to-from, to-from-remove, stride); err != nil {
				return nil, fmt.Errorf("pipeline: question-answering: input %d: doc_stride: %w (lower DocStride or raise MaxSeqLen)", i, err)
			}
		}
		for _, w := range parts {
			c := spliceWindow(e, from, to, w[0], w[1])
			sp := qaSpan{input: i, enc: c, ctxFrom: from, ctxTo: from + w[1] - w[0]}
			sp.allowed = make([]bool, len(c.IDs))
			for k := range c.IDs {
				sp.allowed[k] = (k >= sp.ctxFrom && k < sp.ctxTo) || c.IDs[k] == cls
			}
			sp.startWordTok, sp.endWordTok = wordSpans(c, sp.ctxFrom, sp.ctxTo, prefix)
			out = append(out, sp)
		}
	}
	return out, nil
}

// wordSpans returns, for each context token, the first and last token of
// its word (-1 outside the context): a word is a token and the tokens after
// it that carry the continuing-subword prefix, as WordPiece splits the
// pre-tokenizer's words.
func wordSpans(e tokenizer.Encoding, from, to int, prefix string) ([]int, []int) {
	first, last := make([]int, len(e.IDs)), make([]int, len(e.IDs))
	for k := range first {
		first[k], last[k] = -1, -1
	}
	for k := from; k < to; {
		end := k + 1
		for prefix != "" && end < to && strings.HasPrefix(e.Tokens[end], prefix) {
			end++
		}
		for j := k; j < end; j++ {
			first[j], last[j] = k, end-1
		}
		k = end
	}
	return first, last
}

// qaMasked is the logit transformers puts on tokens that cannot be part of
// an answer.
const qaMasked = -10000.0

// Postprocess decodes the answers of one input from the start and end
// logits of its spans, as transformers' postprocess does: masked softmax
// per span, the pre-top-k span candidates, alignment to words, answers
// with the same text merged (their scores added), the empty answer with
// HandleImpossibleAnswer, then the TopK best.
func (p *QuestionAnswering) Postprocess(context string, spans []qaSpan, s QuestionAnsweringSettings) []Answer {
	minNull := 1000000.0
	var answers []Answer
	preTopK := s.TopK
	if s.AlignToWords {
		preTopK = s.TopK*2 + 10
	}
	for _, sp := range spans {
		n := len(sp.start)
		start, end := make([]float32, n), make([]float32, n)
		for k := 0; k < n; k++ {
			start[k], end[k] = sp.start[k], sp.end[k]
			if !sp.allowed[k] {
				start[k], end[k] = qaMasked, qaMasked
			}
		}
		qaSoftmax(start)
		qaSoftmax(end)
		if s.HandleImpossibleAnswer {
			minNull = math.Min(minNull, float64(start[0]*end[0]))
		}
		start[0], end[0] = 0, 0
		for _, c := range decodeSpans(start, end, preTopK, s.MaxAnswerLen, sp.allowed) {
			a := p.answerOf(context, sp, c, s.AlignToWords)
			if i := slices.IndexFunc(answers, func(x Answer) bool { return strings.ToLower(x.Answer) == strings.ToLower(a.Answer) }); i >= 0 {
				answers[i].Score += a.Score
			} else {
				answers = append(answers, a)
			}
		}
	}
	if s.HandleImpossibleAnswer {
		answers = append(answers, Answer{Score: minNull})
	}
	sort.SliceStable(answers, func(i, j int) bool { return answers[i].Score > answers[j].Score })
	if len(answers) > s.TopK {
		answers = answers[:s.TopK]
	}
	if answers == nil {
		answers = []Answer{}
	}
	return answers
}

// qaSoftmax is np.exp(x - x.max()) / sum, in float32, in place.
func qaSoftmax(x []float32) {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	for i, v := range x {
		x[i] = npExp32(v - m)
	}
	sum := npSum32(x)
	for i := range x {
		x[i] /= sum
	}
}

// spanCandidate is one (start, end) token pair with its score.
type spanCandidate struct {
	s, e  int
	score float32
}

// decodeSpans is transformers' decode_spans: the scores start[s]*end[e]
// for e in [s, s+maxAnswerLen), zero elsewhere, the topK best of all n*n
// (ties by position), then those whose start and end are both allowed.
func decodeSpans(start, end []float32, topK, maxAnswerLen int, allowed []bool) []spanCandidate {
	n := len(start)
	score := func(s, e int) float32 {
		if e < s || e-s > maxAnswerLen-1 {
			return 0
		}
		return start[s] * end[e]
	}
	var picked []spanCandidate
	if topK == 1 {
		best := spanCandidate{score: float32(math.Inf(-1))}
		for s := 0; s < n; s++ {
			for e := 0; e < n; e++ {
				if v := score(s, e); v > best.score {
					best = spanCandidate{s, e, v}
				}
			}
		}
		picked = []spanCandidate{best}
	} else {
		// The positive candidates (the band), best first; the zeros after
		// them only when fewer than topK are positive.
		var all []spanCandidate
		for s := 0; s < n; s++ {
			for e := s; e < min(n, s+maxAnswerLen); e++ {
				if v := score(s, e); v > 0 {
					all = append(all, spanCandidate{s, e, v})
				}
			}
		}
		sort.SliceStable(all, func(i, j int) bool { return all[i].score > all[j].score })
		if len(all) < topK {
			for s := 0; s < n && len(all) < topK; s++ {
				for e := 0; e < n && len(all) < topK; e++ {
					if score(s, e) <= 0 {
						all = append(all, spanCandidate{s, e, 0})
					}
				}
			}
		}
		picked = all[:min(topK, len(all))]
	}
	out := picked[:0]
	for _, c := range picked {
		if allowed[c.s] && allowed[c.e] {
			out = append(out, c)
		}
	}
	return out
}

// answerOf maps a span candidate onto the context, as transformers'
// get_indices: the characters of the start token's word to the end
// token's word with AlignToWords (the tokens' own offsets for tokens
// outside the context), else of the tokens.
func (p *QuestionAnswering) answerOf(context string, sp qaSpan, c spanCandidate, align bool) Answer {
	s, e := c.s, c.e
	if align && sp.startWordTok[s] >= 0 && sp.endWordTok[e] >= 0 {
		s, e = sp.startWordTok[s], sp.endWordTok[e]
	}
	o, bo := sp.enc.Offsets, sp.enc.ByteOffsets
	a := Answer{Score: float64(c.score), Start: o[s].Start, End: o[e].End, ByteStart: bo[s].Start, ByteEnd: bo[e].End}
	if !(sp.inContext(c.s) && sp.inContext(c.e)) {
		// transformers slices the context with these offsets whatever
		// sequence they belong to; special tokens have (0, 0).
		a.ByteStart, a.ByteEnd = charToByte(context, a.Start), charToByte(context, a.End)
	}
	if a.ByteStart <= a.ByteEnd {
		a.Answer = context[a.ByteStart:a.ByteEnd]
	}
	return a
}

func (sp *qaSpan) inContext(k int) bool { return k >= sp.ctxFrom && k < sp.ctxTo }

// charToByte is the byte position of character c of s (len(s) past the end).
func charToByte(s string, c int) int {
	n := 0
	for b := range s {
		if n == c {
			return b
		}
		n++
	}
	return len(s)
}
