package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hfpipe/hfpipe/torch"
)

var (
	people = []string{"Sarah Connor", "Jean-Luc Picard", "Zoë Saldaña", "Björk Guðmundsdóttir", "Li Wei", "Ada Lovelace", "José Mourinho", "Nguyễn Văn An", "Søren Kierkegaard", "O'Brien"}
	places = []string{"New York", "Reykjavík", "São Paulo", "Zürich", "東京", "Kraków", "Montréal", "Abu Dhabi", "Ho Chi Minh City", "Llanfairpwllgwyngyll"}
	orgs   = []string{"Hugging Face Inc.", "the United Nations", "Société Générale", "Apple", "MIT", "Deutsche Bahn AG", "Toyota Motor Corp.", "NASA", "the BBC", "Ørsted"}
	acts   = []string{"met", "visited", "called", "wrote to", "sued", "left", "joined", "praised"}
)

func nerSentence(r *rand.Rand) string {
	return fmt.Sprintf("%s %s %s in %s last %s.", people[r.IntN(len(people))], acts[r.IntN(len(acts))],
		orgs[r.IntN(len(orgs))], places[r.IntN(len(places))], []string{"week", "year", "Monday", "summer"}[r.IntN(4)])
}

// nerCorpus: odd texts, short and medium texts of names and places, and
// texts over 512 tokens.
func nerCorpus(r *rand.Rand, short, medium, long int) []string {
	texts := append([]string{"My name is Wolfgang and I live in Berlin", "Hugging Face Inc. is a company based in New York City."}, odd...)
	texts = append(texts, "☃ snowman ⸻ and unknown ꙮ marks", "supercalifragilisticexpialidocious antidisestablishmentarianism", "e-mail: ada@example.org, tel. +44 20 7946 0958")
	for i := 0; i < short; i++ {
		texts = append(texts, nerSentence(r)+" "+sentence(r))
	}
	for i := 0; i < medium; i++ {
		var s []string
		for k := 0; k < 6+r.IntN(12); k++ {
			s = append(s, nerSentence(r))
		}
		texts = append(texts, strings.Join(s, " "))
	}
	for i := 0; i < long; i++ {
		var s []string
		for k := 0; k < 50+r.IntN(30); k++ {
			s = append(s, nerSentence(r))
		}
		texts = append(texts, strings.Join(s, " "))
	}
	return texts
}

func anyStrings(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// taskStats counts the rows of a task-parity comparison.
type taskStats struct {
	rows, equal      int
	scores, bitwise  int
	maxScoreDiff     float64
	firstDifferences []string
}

func (s *taskStats) score(got, want float64, bitwise bool) {
	s.scores++
	if bitwise {
		s.bitwise++
	}
	s.maxScoreDiff = math.Max(s.maxScoreDiff, math.Abs(got-want))
}

func (s *taskStats) row(ok bool, what string) {
	s.rows++
	if ok {
		s.equal++
	} else if len(s.firstDifferences) < 10 {
		s.firstDifferences = append(s.firstDifferences, what)
	}
}

func (s *taskStats) report(t *testing.T, task, note string) {
	fmt.Printf("task-parity: task=%s %d/%d equal max_score_diff=%.3g (scores bitwise %d/%d; %s)\n", task, s.equal, s.rows, s.maxScoreDiff, s.bitwise, s.scores, note)
	for _, d := range s.firstDifferences {
		t.Error(d)
	}
	assert.Equal(t, s.rows, s.equal, "%s rows equal to transformers.pipeline", task)
	assert.LessOrEqual(t, s.maxScoreDiff, 1e-6, "%s scores", task)
}

type refEntity struct {
	Entity      string  `json:"entity"`
	EntityGroup string  `json:"entity_group"`
	Index       int     `json:"index"`
	Word        string  `json:"word"`
	Start       int     `json:"start"`
	End         int     `json:"end"`
	Score       float64 `json:"score"`
	ScoreHex    string  `json:"score_f32_hex"`
}

func TestTokenClassificationParity(t *testing.T) {
	ctx := context.Background()
	require.NoError(t, torch.SetNumThreads(parityThreads))
	dir := spanModel(t, "token-classification", "distilbert")
	r := rand.New(rand.NewPCG(13, 17))
	texts := nerCorpus(r, 155, 25, 10)
	require.GreaterOrEqual(t, len(texts), 200)
	var long []string
	for _, s := range texts {
		if len(s) > 2500 { // the long texts: over 512 tokens
			long = append(long, s)
		}
	}
	require.GreaterOrEqual(t, len(long), 10)
	type call struct {
		opts   []CallOption
		kwargs map[string]any
		texts  []string
	}
	var calls []call
	// Every text with none and simple; the word-level strategies on the
	// odd texts, the first short ones and the long ones.
	words := append(append([]string{}, texts[:75]...), long...)
	for _, a := range []Aggregation{AggregateNone, AggregateSimple, AggregateFirst, AggregateAverage, AggregateMax} {
		in := texts
		if a > AggregateSimple {
			in = words
		}
		calls = append(calls, call{[]CallOption{AggregationStrategy(a)}, map[string]any{"aggregation_strategy": a.String()}, in})
	}
	calls = append(calls,
		call{[]CallOption{AggregationStrategy(AggregateSimple), Stride(128)}, map[string]any{"aggregation_strategy": "simple", "stride": 128}, long},
		call{[]CallOption{AggregationStrategy(AggregateAverage), Stride(16)}, map[string]any{"aggregation_strategy": "average", "stride": 16}, long},
		call{[]CallOption{AggregationStrategy(AggregateNone), IgnoreLabels()}, map[string]any{"ignore_labels": []string{}}, texts[:30]},
		call{[]CallOption{AggregationStrategy(AggregateFirst), IgnoreLabels("O", "B-PER", "PER")}, map[string]any{"aggregation_strategy": "first", "ignore_labels": []string{"O", "B-PER", "PER"}}, texts[:30]},
	)
	cases := make([]spanCase, len(calls))
	for i, c := range calls {
		cases[i] = spanCase{Kwargs: c.kwargs, Inputs: anyStrings(c.texts)}
	}
	ref := spanReference(t, dir, "token-classification", parityThreads, cases)

	p, err := NewTokenClassification(ctx, WithModel(dir), WithBatchSize(1))
	require.NoError(t, err)
	defer p.Close()
	var st taskStats
	for ci, c := range calls {
		got, err := p.Run(ctx, c.texts, c.opts...)
		require.NoError(t, err)
		for i := range c.texts {
			var want []refEntity
			require.NoError(t, json.Unmarshal(ref[ci][i], &want), "case %d input %d: %s", ci, i, ref[ci][i])
			ok := len(got[i]) == len(want)
			for k := 0; ok && k < len(want); k++ {
				g, w := got[i][k], want[k]
				ok = g.Entity == w.Entity && g.EntityGroup == w.EntityGroup && g.Word == w.Word && g.Start == w.Start && g.End == w.End &&
					(w.EntityGroup != "" || g.Index == w.Index)
				if ok {
					st.score(g.Score, w.Score, f32hex(g.Score) == w.ScoreHex)
				}
			}
			st.row(ok, fmt.Sprintf("token-classification %v input %d (%.60q): got %+v\nwant %s", c.kwargs, i, c.texts[i], got[i], ref[ci][i]))
		}
	}
	st.report(t, "token-classification", "rows: texts x aggregation none/simple/first/average/max, stride 128 and 16 on texts over 512 tokens, ignore_labels; Go's softmax uses numpy's SIMD float32 exp")
}

// qaCorpus: questions about short, medium and long contexts (over the
// 384-token chunk), odd texts as contexts.
func qaCorpus(r *rand.Rand, short, medium, long int) []QAInput {
	questions := []string{"Who met whom?", "Where did it happen?", "What was amazing?", "When?", "Which company was sued?", "What is the name of the city?", "Who wrote to the BBC last summer?", "¿Dónde vive?", "誰ですか？", "Why?"}
	var out []QAInput
	q := func() string { return questions[r.IntN(len(questions))] }
	out = append(out, QAInput{"Where do I live?", "My name is Wolfgang and I live in Berlin"},
		QAInput{"What is Hugging Face?", "Hugging Face Inc. is a company based in New York City. Its headquarters are in DUMBO, therefore very close to the Manhattan Bridge."})
	for _, o := range odd {
		if len(strings.Fields(o)) >= 2 {
			out = append(out, QAInput{q(), o + " " + nerSentence(r)})
		}
	}
	for i := 0; i < short; i++ {
		out = append(out, QAInput{q(), nerSentence(r) + " " + sentence(r)})
	}
	for i := 0; i < medium; i++ {
		out = append(out, QAInput{q(), paragraph(r, 3) + " " + nerSentence(r) + " " + paragraph(r, 4+r.IntN(10))})
	}
	for i := 0; i < long; i++ {
		var s []string
		for k := 0; k < 25+r.IntN(40); k++ {
			s = append(s, nerSentence(r), sentence(r))
		}
		out = append(out, QAInput{q(), strings.Join(s, " ")})
	}
	return out
}

type refAnswer struct {
	Score  float64 `json:"score"`
	Start  int     `json:"start"`
	End    int     `json:"end"`
	Answer string  `json:"answer"`
}

func TestQuestionAnsweringParity(t *testing.T) {
	ctx := context.Background()
	require.NoError(t, torch.SetNumThreads(parityThreads))
	dir := spanModel(t, "question-answering", "distilbert")
	r := rand.New(rand.NewPCG(19, 23))
	inputs := qaCorpus(r, 140, 40, 20)
	require.GreaterOrEqual(t, len(inputs), 200)
	type call struct {
		opts   []CallOption
		kwargs map[string]any
		n      int
	}
	calls := []call{
		{nil, map[string]any{}, len(inputs)},
		{[]CallOption{TopK(3), HandleImpossibleAnswer(true)}, map[string]any{"top_k": 3, "handle_impossible_answer": true}, 100},
		{[]CallOption{AlignToWords(false), MaxAnswerLen(5), TopK(2)}, map[string]any{"align_to_words": false, "max_answer_len": 5, "top_k": 2}, 60},
		{[]CallOption{MaxSeqLen(64), DocStride(24)}, map[string]any{"max_seq_len": 64, "doc_stride": 24}, 60},
	}
	cases := make([]spanCase, len(calls))
	for i, c := range calls {
		in := make([]any, c.n)
		for k := range in {
			in[k] = inputs[k]
		}
		cases[i] = spanCase{Kwargs: c.kwargs, Inputs: in}
	}
	ref := spanReference(t, dir, "question-answering", parityThreads, cases)
	p, err := NewQuestionAnswering(ctx, WithModel(dir), WithBatchSize(1))
	require.NoError(t, err)
	defer p.Close()
	var st taskStats
	for ci, c := range calls {
		got, err := p.Run(ctx, inputs[:c.n], c.opts...)
		require.NoError(t, err)
		for i := 0; i < c.n; i++ {
			var want []refAnswer
			require.NoError(t, json.Unmarshal(ref[ci][i], &want), "case %d input %d: %s", ci, i, ref[ci][i])
			ok := len(got[i]) == len(want)
			for k := 0; ok && k < len(want); k++ {
				g, w := got[i][k], want[k]
				ok = g.Answer == w.Answer && g.Start == w.Start && g.End == w.End
				if ok {
					st.score(g.Score, w.Score, g.Score == w.Score)
				}
			}
			st.row(ok, fmt.Sprintf("question-answering %v input %d (%q / %.60q): got %+v\nwant %s", c.kwargs, i, inputs[i].Question, inputs[i].Context, got[i], ref[ci][i]))
		}
	}
	st.report(t, "question-answering", "rows: every input with the defaults (contexts up to ~1500 tokens, several chunks), the short ones with top_k 3 and handle_impossible_answer, with align_to_words false and max_answer_len 5, with max_seq_len 64 and doc_stride 24; Go's softmax uses numpy's SIMD float32 exp")
}

// fillMaskCorpus: texts with one to three masks, odd texts, texts of up to
// ~480 tokens (fill-mask does not truncate).
func fillMaskCorpus(r *rand.Rand, short, medium, long int) []string {
	maskWords := func(s string, n int) string {
		w := strings.Fields(s)
		for k := 0; k < n && len(w) > 0; k++ {
			w[r.IntN(len(w))] = "[MASK]"
		}
		return strings.Join(w, " ")
	}
	texts := []string{"This is a simple [MASK].", "Paris is the [MASK] of France.", "[MASK]", "[MASK] [MASK] [MASK]", "The [MASK] sat on the [MASK]."}
	for _, o := range odd {
		texts = append(texts, o+" [MASK]")
	}
	for i := 0; i < short; i++ {
		texts = append(texts, maskWords(sentence(r)+" "+nerSentence(r), 1+r.IntN(3)/2))
	}
	for i := 0; i < medium; i++ {
		texts = append(texts, maskWords(paragraph(r, 6+r.IntN(10)), 1+r.IntN(3)))
	}
	for i := 0; i < long; i++ {
		texts = append(texts, maskWords(paragraph(r, 40+r.IntN(15)), 1+r.IntN(2)))
	}
	return texts
}

type refFill struct {
	Score    float64 `json:"score"`
	ScoreHex string  `json:"score_f32_hex"`
	Token    int64   `json:"token"`
	TokenStr string  `json:"token_str"`
	Sequence string  `json:"sequence"`
}

func TestFillMaskParity(t *testing.T) {
	ctx := context.Background()
	require.NoError(t, torch.SetNumThreads(parityThreads))
	dir := spanModel(t, "fill-mask", "distilbert")
	r := rand.New(rand.NewPCG(29, 31))
	texts := fillMaskCorpus(r, 160, 25, 10)
	require.GreaterOrEqual(t, len(texts), 200)
	targets := []string{"good", "bad", "city", "the", "Zürich", "##ing", "supercalifragilistic"}
	type call struct {
		opts   []CallOption
		kwargs map[string]any
		n      int
	}
	calls := []call{
		{nil, map[string]any{}, len(texts)},
		{[]CallOption{TopK(3), Targets(targets...)}, map[string]any{"top_k": 3, "targets": targets}, 50},
		{[]CallOption{TopK(12)}, map[string]any{"top_k": 12}, 30},
	}
	cases := make([]spanCase, len(calls))
	for i, c := range calls {
		cases[i] = spanCase{Kwargs: c.kwargs, Inputs: anyStrings(texts[:c.n])}
	}
	ref := spanReference(t, dir, "fill-mask", parityThreads, cases)
	p, err := NewFillMask(ctx, WithModel(dir), WithBatchSize(1))
	require.NoError(t, err)
	defer p.Close()
	var st taskStats
	for ci, c := range calls {
		got, err := p.Run(ctx, texts[:c.n], c.opts...)
		require.NoError(t, err)
		for i := 0; i < c.n; i++ {
			var want [][]refFill
			require.NoError(t, json.Unmarshal(ref[ci][i], &want), "case %d input %d: %s", ci, i, ref[ci][i])
			ok := len(got[i]) == len(want)
			for m := 0; ok && m < len(want); m++ {
				ok = len(got[i][m]) == len(want[m])
				for k := 0; ok && k < len(want[m]); k++ {
					g, w := got[i][m][k], want[m][k]
					ok = g.Token == w.Token && g.TokenStr == w.TokenStr && g.Sequence == w.Sequence
					if ok {
						st.score(g.Score, w.Score, f32hex(g.Score) == w.ScoreHex)
					}
				}
			}
			st.row(ok, fmt.Sprintf("fill-mask %v input %d (%.60q): got %+v\nwant %s", c.kwargs, i, texts[i], got[i], ref[ci][i]))
		}
	}
	st.report(t, "fill-mask", "rows: texts with one to three masks x default top_k 5, top_k 3 with targets, top_k 12; Go's softmax follows ATen's "+torch.CPUEnv().ATenCapability+" kernel")
}
