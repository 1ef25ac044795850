package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/torch"
)

// FillMaskSettings are fill-mask's call keywords, with transformers'
// defaults.
type FillMaskSettings struct {
	// TopK is how many predictions each mask returns (default 5; at most
	// the number of targets).
	TopK int
	// Targets, when set, limits the predictions to these tokens (a target
	// outside the vocabulary stands for the first token it encodes to).
	Targets []string
}

func (s *FillMaskSettings) setTopK(k int) { s.TopK = k }

func (s *FillMaskSettings) check() error {
	if s.TopK < 1 {
		return fmt.Errorf("top_k must be at least 1, got %d", s.TopK)
	}
	if s.Targets != nil && len(s.Targets) == 0 {
		return errors.New("targets is empty: give at least one target, or leave Targets out")
	}
	return nil
}

var fillMaskTakes = []string{"top_k", "targets"}

// Targets limits fill-mask's predictions to these tokens (transformers'
// targets).
func Targets(targets ...string) CallOption {
	targets = append([]string{}, targets...)
	return callOption("targets", func(s *FillMaskSettings) { s.Targets = targets })
}

// Fill is one prediction for a mask: the token, its probability, and the
// text with the mask replaced by it.
type Fill struct {
	Score    float64 `json:"score"`
	Token    int64   `json:"token"`
	TokenStr string  `json:"token_str"`
	Sequence string  `json:"sequence"`
}

// FillMask is the fill-mask pipeline. It is safe for concurrent use.
type FillMask struct {
	// Tokenizer encodes the inputs.
	Tokenizer *tokenizer.Tokenizer
	// Model computes the vocabulary logits.
	Model *hf.ModelForMaskedLM

	opts     Options
	defaults FillMaskSettings
	borrowed bool
}

func fillMaskBase() FillMaskSettings { return FillMaskSettings{TopK: 5} }

// NewFillMask loads the tokenizer and masked language model of opts' model
// (WithModel is required).
func NewFillMask(ctx context.Context, opts ...Option) (*FillMask, error) {
	const task = "fill-mask"
	if err := requireModel(task, opts); err != nil {
		return nil, err
	}
	o, tok, err := loadTokenizer(ctx, task, opts)
	if err != nil {
		return nil, err
	}
	if err := checkMaskToken(tok); err != nil {
		return nil, err
	}
	model, err := hf.AutoModelForMaskedLM.FromPretrained(ctx, o.Model, o.hfOptions()...)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", task, err)
	}
	p := &FillMask{Tokenizer: tok, Model: model, opts: *o}
	if p.defaults, err = applyCall(task, fillMaskBase(), o.Defaults, fillMaskTakes); err != nil {
		model.Close()
		return nil, err
	}
	return p, nil
}

// NewFillMaskFrom makes a fill-mask pipeline of a tokenizer and a masked
// language model already loaded. The caller keeps the model.
func NewFillMaskFrom(tok *tokenizer.Tokenizer, model *hf.ModelForMaskedLM, opts ...Option) (*FillMask, error) {
	const task = "fill-mask"
	var m *hf.Model
	if model != nil {
		m = model.Model
	}
	o, err := partsOptions(task, "NewFillMask", tok, m, "hf.AutoModelForMaskedLM", opts)
	if err != nil {
		return nil, err
	}
	if err := checkMaskToken(tok); err != nil {
		return nil, err
	}
	p := &FillMask{Tokenizer: tok, Model: model, opts: *o, borrowed: true}
	if p.defaults, err = applyCall(task, fillMaskBase(), o.Defaults, fillMaskTakes); err != nil {
		return nil, err
	}
	return p, nil
}

func checkMaskToken(tok *tokenizer.Tokenizer) error {
	if tok.Specials().MASK.ID < 0 {
		return errors.New("pipeline: fill-mask: the tokenizer does not define a mask token (mask_token), so there is nothing to fill")
	}
	return nil
}

// Task returns "fill-mask".
func (p *FillMask) Task() string { return "fill-mask" }

// Close frees the model, except for a pipeline made with NewFillMaskFrom.
func (p *FillMask) Close() error {
	if p.borrowed || p.Model == nil {
		return nil
	}
	return p.Model.Close()
}

// RunAny runs Run on a []string; the result is a [][][]Fill.
func (p *FillMask) RunAny(ctx context.Context, inputs any, opts ...CallOption) (any, error) {
	texts, ok := inputs.([]string)
	if !ok {
		return nil, inputTypeError("fill-mask", inputs, "[]string")
	}
	return p.Run(ctx, texts, opts...)
}

// MaskToken is the text to put where fill-mask should predict a token
// ("[MASK]" for BERT).
func (p *FillMask) MaskToken() string { return p.Tokenizer.Specials().MASK.Token }

// Run predicts the masked tokens of each text and returns, per text, per
// mask (in text order), the TopK predictions, best first, as transformers'
// fill-mask pipeline does (which returns the single mask's list alone when
// a text has one mask). A text without a mask token is an error. Call
// options: TopK, Targets.
func (p *FillMask) Run(ctx context.Context, texts []string, opts ...CallOption) ([][][]Fill, error) {
	const task = "fill-mask"
	if p.Model == nil || p.Model.Model == nil || p.Tokenizer == nil {
		return nil, errors.New("pipeline: fill-mask lacks its Model or Tokenizer: make it with NewFillMask, or NewFillMaskFrom with parts from hf.AutoTokenizer and hf.AutoModelForMaskedLM")
	}
	if err := checkMaskToken(p.Tokenizer); err != nil {
		return nil, err
	}
	o, base := &p.opts, p.defaults
	if p.opts.BatchSize == 0 {
		o, base = &literalOptions, fillMaskBase()
	}
	s, err := applyCall(task, base, opts, fillMaskTakes)
	if err != nil {
		return nil, err
	}
	targets, err := p.targetIDs(s.Targets)
	if err != nil {
		return nil, err
	}
	// transformers calls the tokenizer without truncation: a text longer
	// than the model fails in the model; here it fails before it.
	b, err := p.Tokenizer.EncodeBatch(ctx, nonNil(texts), tokenizer.Options{})
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: preprocess: %w", task, err)
	}
	mask := p.Tokenizer.Specials().MASK.ID
	lim := p.Model.MaxLength()
	for i, e := range b.Encodings {
		if !slices.Contains(e.IDs, mask) {
			return nil, fmt.Errorf("pipeline: %s: input %d has no mask token (%s) to fill: put %s where a token should be predicted", task, i, p.MaskToken(), p.MaskToken())
		}
		if lim > 0 && len(e.IDs) > lim {
			return nil, fmt.Errorf("pipeline: %s: input %d has %d tokens, more than the model's %d positions: shorten it", task, i, len(e.IDs), lim)
		}
	}
	out := make([][][]Fill, len(texts))
	err = eachRowBatch(ctx, p.Tokenizer, b.Encodings, o, func(rows []int, batch *tokenizer.Batch) error {
		res, err := p.Model.Forward(ctx, batch)
		if err != nil {
			return fmt.Errorf("pipeline: %s: %w", task, err)
		}
		logits, err := floats(res.Logits)
		vocab := int(res.Logits.Shape()[2])
		res.Close()
		if err != nil {
			return err
		}
		for k, r := range rows {
			row := logits[k*batch.SeqLen*vocab : (k+1)*batch.SeqLen*vocab]
			out[r] = p.Postprocess(b.Encodings[r].IDs, row, vocab, s.TopK, targets)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// targetIDs resolves targets as transformers' get_target_ids: a vocabulary
// token is its id; any other target is the first token it encodes to
// (targets that encode to nothing are dropped); duplicates removed.
func (p *FillMask) targetIDs(targets []string) ([]int64, error) {
	if targets == nil {
		return nil, nil
	}
	var ids []int64
	for _, t := range targets {
		id, ok := p.Tokenizer.TokenToID(t)
		if !ok {
			e, err := p.Tokenizer.EncodeWith(t, tokenizer.Options{NoSpecialTokens: true})
			if err != nil {
				return nil, fmt.Errorf("pipeline: fill-mask: target %q: %w", t, err)
			}
			if len(e.IDs) == 0 {
				continue
			}
			id = e.IDs[0]
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("pipeline: fill-mask: none of the targets is a token of the vocabulary or encodes to one: at least one target must be provided")
	}
	return ids, nil
}

// Postprocess returns the predictions for each mask of one encoded text
// from its logits ([tokens, vocab]): softmax over the vocabulary (or the
// targets' probabilities), the topK best, each with the text decoded with
// the prediction in place, as transformers' postprocess does.
func (p *FillMask) Postprocess(ids []int64, logits []float32, vocab, topK int, targets []int64) [][]Fill {
	mask := p.Tokenizer.Specials().MASK.ID
	pad := p.Tokenizer.Specials().PAD.ID
	var masks []int
	for i, id := range ids {
		if id == mask {
			masks = append(masks, i)
		}
	}
	if targets != nil {
		topK = min(topK, len(targets))
	}
	single := len(masks) == 1
	out := make([][]Fill, len(masks))
	probs := make([]float32, vocab)
	for m, pos := range masks {
		torchSoftmax32(logits[pos*vocab:(pos+1)*vocab], probs)
		cand := make([]int, 0, vocab)
		if targets != nil {
			for _, t := range targets {
				cand = append(cand, int(t))
			}
		} else {
			for v := 0; v < vocab; v++ {
				cand = append(cand, v)
			}
		}
		for _, c := range topIndices(probs, cand, topK) {
			tokens := make([]int64, 0, len(ids))
			for i, id := range ids {
				if i == pos {
					id = int64(c)
				}
				if id != pad {
					tokens = append(tokens, id)
				}
			}
			out[m] = append(out[m], Fill{Score: float64(probs[c]), Token: int64(c),
				TokenStr: p.Tokenizer.Decode([]int64{int64(c)}, false), Sequence: p.Tokenizer.Decode(tokens, single)})
		}
	}
	return out
}

// topIndices returns the k candidates with the largest probs, best first,
// ties by candidate order (torch.topk's order for distinct values).
func topIndices(probs []float32, cand []int, k int) []int {
	top := make([]int, 0, k+1)
	for _, c := range cand {
		if len(top) == k && probs[c] <= probs[top[k-1]] {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return probs[top[i]] < probs[c] })
		top = slices.Insert(top, i, c)
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}

// torchSoftmax32 is ATen's float32 softmax over the last dimension on the
// CPU (_vec_softmax_lastdim), step for step: the maximum, the exponentials
// of x - max with Sleef's expf_u10 (the AVX2 and AVX512 kernels) or the C
// library's expf (the default kernels), their sum in vector lanes reduced
// as Vectorized's reduce_all does, then each exponential times 1/sum.
func torchSoftmax32(x, out []float32) {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	lanes, tree, exp := atenVector()
	for i, v := range x {
		out[i] = exp(v - m)
	}
	inv := 1 / laneSum32(out, lanes, tree)
	for i := range out {
		out[i] *= inv
	}
}

var atenVectorOnce = sync.OnceValues(func() (int, bool) {
	switch torch.CPUEnv().ATenCapability {
	case "AVX512":
		return 16, true
	case "AVX2":
		return 8, true
	}
	return 8, false // the default kernels: Vectorized<float> of 32 bytes
})

// atenVector is the float lane count of ATen's kernel set, whether it
// reduces lanes as a tree (the AVX2 and AVX512 kernels) rather than in
// order, and its exp.
func atenVector() (int, bool, func(float32) float32) {
	lanes, tree := atenVectorOnce()
	if tree {
		return lanes, true, sleefExp32
	}
	return lanes, false, func(v float32) float32 { return float32(math.Exp(float64(v))) }
}

// laneSum32 is ATen's reduce_all with +: lanes accumulators over whole
// vectors, the tail added into the first lanes, then the lanes summed
// (halves added pairwise for the tree, else in lane order).
func laneSum32(x []float32, lanes int, tree bool) float32 {
	acc := make([]float32, lanes)
	if len(x) < lanes {
		var s float32
		for _, v := range x {
			s += v
		}
		return s
	}
	copy(acc, x[:lanes])
	d := lanes
	for ; d < len(x)-len(x)%lanes; d += lanes {
		for j := range acc {
			acc[j] += x[d+j]
		}
	}
	for j := 0; d+j < len(x); j++ {
		acc[j] += x[d+j]
	}
	if !tree {
		s := acc[0]
		for _, v := range acc[1:] {
			s += v
		}
		return s
	}
	for h := lanes / 2; h >= 1; h /= 2 {
		for j := 0; j < h; j++ {
			acc[j] += acc[j+h]
		}
	}
	return acc[0]
}

// sleefExp32 is Sleef's expf_u10 (xexpf) with fused multiply-adds, which
// ATen's vectorised exp calls on AVX2 and AVX512.
func sleefExp32(d float32) float32 {
	const (
		rln2 = float32(1.442695040888963407359924681001892137426645954152985934135449406931)
		l2u  = float32(0.693145751953125)
		l2l  = float32(1.428606765330187045e-06)
	)
	switch {
	case d != d:
		return d
	case d < -104:
		return 0
	case d > 1e38:
		return float32(math.Inf(1))
	}
	q := int(math.RoundToEven(float64(float32(d * rln2))))
	qf := float32(q)
	s := fma32(qf, -l2u, d)
	s = fma32(qf, -l2l, s)
	u := float32(0.000198527617612853646278381)
	u = fma32(u, s, 0.00139304355252534151077271)
	u = fma32(u, s, 0.00833336077630519866943359)
	u = fma32(u, s, 0.0416664853692054748535156)
	u = fma32(u, s, 0.166666671633720397949219)
	u = fma32(u, s, 0.5)
	u = 1 + fma32(float32(s*s), u, s)
	// vldexp2: two steps, so that neither factor leaves the float32 range.
	u = float32(u * float32(math.Ldexp(1, q>>1)))
	return float32(u * float32(math.Ldexp(1, q-q>>1)))
}
