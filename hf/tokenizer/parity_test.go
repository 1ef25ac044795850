package tokenizer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/stretchr/testify/require"
)

// contentKey is testenv.ContentKey, failing t when a file cannot be read.
func contentKey(t testing.TB, files []string, extra ...string) string {
	t.Helper()
	key, err := testenv.ContentKey(files, extra...)
	require.NoError(t, err)
	return key
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func toolPath(name string) string {
	return filepath.Join(testenv.RepoRoot(), "third_party", "tools", name)
}

var (
	foldersOnce sync.Once
	foldersDir  string
)

// refFolders returns the folder holding the Python-made tokenizer folders
// (uncased, cased, lower-accents, added, and each again as a vocab.txt-only
// "-vocab" folder), building it when missing.
func refFolders(t testing.TB) string {
	t.Helper()
	foldersOnce.Do(func() {
		vocab := testenv.UncasedVocab(t)
		key := contentKey(t, []string{toolPath("tokenizer_make.py"), vocab,
			filepath.Join(testenv.RepoRoot(), "third_party", "requirements.txt")})
		dir := filepath.Join(testenv.GenDir(t), "tokenizer", "folders-"+key)
		if _, err := os.Stat(filepath.Join(dir, "stamp")); err != nil {
			testenv.RunPython(t, "tokenizer_make.py", vocab, dir)
		}
		foldersDir = dir
	})
	if foldersDir == "" {
		t.Fatal("tokenizer folders could not be built (see the first failure)")
	}
	return foldersDir
}

func loadFolder(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tk, err := FromFolder(filepath.Join(refFolders(t), name))
	require.NoError(t, err)
	return tk
}

// setting is one encode configuration, serialized for the Python side and
// mapped to Options for ours.
type setting struct {
	Name             string `json:"name"`
	Input            string `json:"input"`
	Batch            int    `json:"batch"`
	Padding          any    `json:"padding"`
	Truncation       any    `json:"truncation"`
	MaxLength        *int   `json:"max_length"`
	PaddingSide      string `json:"padding_side,omitempty"`
	TruncationSide   string `json:"truncation_side,omitempty"`
	PadToMultipleOf  *int   `json:"pad_to_multiple_of"`
	AddSpecialTokens bool   `json:"add_special_tokens"`
	Decode           bool   `json:"decode"`
	opts             Options
	plain            bool // use Encode/EncodePair (no options)
}

func ip(n int) *int { return &n }

func paritySettings() []setting {
	return []setting{
		{Name: "default", Input: "single", Padding: false, AddSpecialTokens: true, Decode: true, plain: true},
		{Name: "longest", Input: "single", Batch: 16, Padding: "longest", Truncation: true, AddSpecialTokens: true,
			opts: Options{Padding: PadLongest, Truncation: LongestFirst}},
		{Name: "max16", Input: "single", Batch: 16, Padding: "max_length", Truncation: true, MaxLength: ip(16), AddSpecialTokens: true,
			opts: Options{Padding: PadMaxLength, Truncation: LongestFirst, MaxLength: 16}},
		{Name: "max32-left", Input: "single", Batch: 16, Padding: "max_length", Truncation: true, MaxLength: ip(32),
			PaddingSide: "left", TruncationSide: "left", AddSpecialTokens: true,
			opts: Options{Padding: PadMaxLength, Truncation: LongestFirst, MaxLength: 32, PaddingSide: SideLeft, TruncationSide: SideLeft}},
		{Name: "multiple8", Input: "single", Batch: 16, Padding: "longest", PadToMultipleOf: ip(8), AddSpecialTokens: true,
			opts: Options{Padding: PadLongest, PadToMultipleOf: 8}},
		{Name: "nospecial16", Input: "single", Padding: false, Truncation: true, MaxLength: ip(16), AddSpecialTokens: false,
			opts: Options{NoSpecialTokens: true, Truncation: LongestFirst, MaxLength: 16}},
		{Name: "pair-default", Input: "pair", Padding: false, AddSpecialTokens: true, Decode: true, plain: true},
		{Name: "pair-longest-first32", Input: "pair", Batch: 16, Padding: "longest", Truncation: "longest_first", MaxLength: ip(32),
			AddSpecialTokens: true, opts: Options{Padding: PadLongest, Truncation: LongestFirst, MaxLength: 32}},
		{Name: "pair-only-first32", Input: "pair", Padding: false, Truncation: "only_first", MaxLength: ip(32), AddSpecialTokens: true,
			opts: Options{Truncation: OnlyFirst, MaxLength: 32}},
		{Name: "pair-only-second16", Input: "pair", Padding: false, Truncation: "only_second", MaxLength: ip(16), AddSpecialTokens: true,
			opts: Options{Truncation: OnlySecond, MaxLength: 16}},
		{Name: "pair-max32-left", Input: "pair", Batch: 16, Padding: "max_length", Truncation: "longest_first", MaxLength: ip(32),
			PaddingSide: "left", AddSpecialTokens: true,
			opts: Options{Padding: PadMaxLength, Truncation: LongestFirst, MaxLength: 32, PaddingSide: SideLeft}},
	}
}

// parityRuns pairs folders with settings: every setting on the uncased and
// cased tokenizer.json folders, the plain ones and a batched pair setting on
// the others (lowercase without accent stripping, added tokens, and the
// vocab.txt-only folders).
func parityRuns() []struct {
	folder string
	s      setting
} {
	var runs []struct {
		folder string
		s      setting
	}
	for _, f := range []string{"uncased", "cased", "lower-accents", "added", "uncased-vocab", "cased-vocab", "lower-accents-vocab", "added-vocab"} {
		for _, s := range paritySettings() {
			if f == "uncased" || f == "cased" || s.Name == "default" || s.Name == "pair-longest-first32" || s.Name == "pair-default" {
				runs = append(runs, struct {
					folder string
					s      setting
				}{f, s})
			}
		}
	}
	return runs
}

type refRow struct {
	IDs     []int64  `json:"ids"`
	TT      []int64  `json:"tt"`
	AM      []int64  `json:"am"`
	STM     []int64  `json:"stm"`
	Off     [][2]int `json:"off"`
	Tok     []string `json:"tok"`
	Dec     *string  `json:"dec"`
	DecSkip *string  `json:"dec_skip"`
	Err     *string  `json:"err"`
}

type refOutput struct {
	Runs []struct {
		Folder string   `json:"folder"`
		Name   string   `json:"name"`
		Rows   []refRow `json:"rows"`
	} `json:"runs"`
}

func corpusPairs(n int) [][2]int {
	// Deterministic pairs: neighbours, far apart, with the empty text, long ones.
	var ps [][2]int
	for i := 0; i+1 < n && len(ps) < 700; i += 3 {
		ps = append(ps, [2]int{i, (i*7 + 13) % n})
	}
	return ps
}

type refRun struct {
	Folder  string  `json:"folder"`
	Setting setting `json:"setting"`
}

// runReference writes the corpus, runs tokenizer_reference.py on it (cached
// by content) and returns its output.
func runReference(t *testing.T, items []corpusItem, pairs [][2]int, runs []refRun) *refOutput {
	t.Helper()
	return runReferenceIn(t, refFolders(t), items, pairs, runs)
}

// runReferenceIn is runReference over the folders under dir.
func runReferenceIn(t *testing.T, dir string, items []corpusItem, pairs [][2]int, runs []refRun) *refOutput {
	t.Helper()
	texts := make([]map[string]string, len(items))
	for i, it := range items {
		if utf8.ValidString(it.text) {
			texts[i] = map[string]string{"t": it.text}
		} else {
			texts[i] = map[string]string{"b": base64.StdEncoding.EncodeToString([]byte(it.text))}
		}
	}
	folders := map[string]string{}
	for _, r := range runs {
		folders[r.Folder] = filepath.Join(dir, r.Folder)
	}
	if pairs == nil {
		pairs = [][2]int{}
	}
	corpus, err := json.Marshal(map[string]any{"texts": texts, "pairs": pairs, "folders": folders, "runs": runs})
	require.NoError(t, err)
	gen := filepath.Join(testenv.GenDir(t), "tokenizer")
	// The folders' tokenizer.json files are part of the key: a derived
	// variant is rewritten by the test, under the same name.
	files := []string{toolPath("tokenizer_reference.py")}
	for _, f := range slices.Sorted(maps.Values(folders)) {
		if p := filepath.Join(f, TokenizerJSON); fileExists(p) {
			files = append(files, p)
		}
	}
	key := contentKey(t, files, string(corpus))
	out := filepath.Join(gen, "reference-"+key+".json")
	if _, err := os.Stat(out); err != nil {
		in := filepath.Join(gen, "corpus-"+key+".json")
		require.NoError(t, os.WriteFile(in, corpus, 0o644))
		testenv.RunPython(t, "tokenizer_reference.py", in, out+".tmp")
		require.NoError(t, os.Rename(out+".tmp", out))
	}
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	var ref refOutput
	require.NoError(t, json.Unmarshal(data, &ref))
	require.Len(t, ref.Runs, len(runs))
	return &ref
}

// goRows encodes the inputs of one setting as the Python side did.
func goRows(tk *Tokenizer, s setting, texts []string, pairs [][2]int) ([]Encoding, []error) {
	type in struct{ a, b string }
	var inputs []in
	if s.Input == "pair" {
		for _, p := range pairs {
			inputs = append(inputs, in{texts[p[0]], texts[p[1]]})
		}
	} else {
		for _, x := range texts {
			inputs = append(inputs, in{a: x})
		}
	}
	encs := make([]Encoding, len(inputs))
	errs := make([]error, len(inputs))
	if s.Batch == 0 {
		for i, x := range inputs {
			switch {
			case s.plain && s.Input == "pair":
				encs[i] = tk.EncodePair(x.a, x.b)
			case s.plain:
				encs[i] = tk.Encode(x.a)
			case s.Input == "pair":
				encs[i], errs[i] = tk.EncodePairWith(x.a, x.b, s.opts)
			default:
				encs[i], errs[i] = tk.EncodeWith(x.a, s.opts)
			}
		}
		return encs, errs
	}
	for i := 0; i < len(inputs); i += s.Batch {
		chunk := inputs[i:min(i+s.Batch, len(inputs))]
		var b *Batch
		var err error
		if s.Input == "pair" {
			ps := make([]Pair, len(chunk))
			for k, x := range chunk {
				ps[k] = Pair{x.a, x.b}
			}
			b, err = tk.EncodePairBatch(context.Background(), ps, s.opts)
		} else {
			ts := make([]string, len(chunk))
			for k, x := range chunk {
				ts[k] = x.a
			}
			b, err = tk.EncodeBatch(context.Background(), ts, s.opts)
		}
		for k := range chunk {
			if err != nil {
				errs[i+k] = err
				continue
			}
			encs[i+k] = b.Encodings[k]
			if b.SeqLen > 0 { // the flat view must be the rows
				row := b.InputIDs[k*b.SeqLen : (k+1)*b.SeqLen]
				if !reflect.DeepEqual(row, b.Encodings[k].IDs) {
					errs[i+k] = fmt.Errorf("flat InputIDs row %d differs from Encodings", k)
				}
			}
		}
	}
	return encs, errs
}

// diffRow names the first field where ours differs from the reference.
func diffRow(tk *Tokenizer, s setting, e Encoding, err error, r refRow) string {
	if r.Err != nil || err != nil {
		if r.Err != nil && err != nil {
			return ""
		}
		return fmt.Sprintf("error: python %v, go %v", r.Err, err)
	}
	off := make([][2]int, len(e.Offsets))
	for i, o := range e.Offsets {
		off[i] = [2]int{o.Start, o.End}
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"input_ids", e.IDs, r.IDs}, {"token_type_ids", e.TypeIDs, r.TT}, {"attention_mask", e.AttentionMask, r.AM},
		{"special_tokens_mask", e.SpecialTokensMask, r.STM}, {"offsets", off, r.Off}, {"tokens", e.Tokens, r.Tok},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			return fmt.Sprintf("%s:\n   go %v\n   py %v", f.name, f.got, f.want)
		}
	}
	if len(e.ByteOffsets) != len(e.Offsets) {
		return "byte offsets length"
	}
	if s.Decode {
		if d := tk.Decode(e.IDs, false); r.Dec == nil || d != *r.Dec {
			return fmt.Sprintf("decode:\n   go %q\n   py %q", d, deref(r.Dec))
		}
		if d := tk.Decode(e.IDs, true); r.DecSkip == nil || d != *r.DecSkip {
			return fmt.Sprintf("decode(skip_special_tokens):\n   go %q\n   py %q", d, deref(r.DecSkip))
		}
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestParity compares every field of our encodings with transformers'
// AutoTokenizer (fast) on the generated corpus, for every setting and
// tokenizer folder, and prints the tokenizer-parity line.
func TestParity(t *testing.T) {
	items := buildCorpus()
	require.GreaterOrEqual(t, len(items), 2000)
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = it.text
	}
	pairs := corpusPairs(len(items))
	runs := parityRuns()
	var rr []refRun
	for _, r := range runs {
		rr = append(rr, refRun{r.folder, r.s})
	}
	ref := runReference(t, items, pairs, rr)

	tks := map[string]*Tokenizer{}
	same, total, reported := 0, 0, 0
	for i, run := range runs {
		rr := ref.Runs[i]
		require.Equal(t, run.folder, rr.Folder)
		require.Equal(t, run.s.Name, rr.Name)
		tk := tks[run.folder]
		if tk == nil {
			tk = loadFolder(t, run.folder)
			tks[run.folder] = tk
		}
		encs, errs := goRows(tk, run.s, texts, pairs)
		require.Len(t, rr.Rows, len(encs), run.s.Name)
		for k := range encs {
			total++
			d := diffRow(tk, run.s, encs[k], errs[k], rr.Rows[k])
			if d == "" {
				same++
				continue
			}
			if reported < 25 {
				reported++
				in := fmt.Sprintf("%q", texts[min(k, len(texts)-1)])
				if run.s.Input == "pair" {
					in = fmt.Sprintf("%q | %q", texts[pairs[k][0]], texts[pairs[k][1]])
				} else {
					in = fmt.Sprintf("[%s] %s", items[k].cat, in)
				}
				if len(in) > 300 {
					in = in[:300] + "..."
				}
				t.Errorf("%s/%s row %d %s\n  %s", run.folder, run.s.Name, k, in, d)
			}
		}
	}
	fmt.Printf("tokenizer-parity: family=wordpiece %d/%d identical\n", same, total)
	require.Equal(t, total, same, "tokenizer parity")
}
