package hf_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hfpipe/hfpipe/hf"
	"github.com/hfpipe/hfpipe/hf/weights"
	"github.com/hfpipe/hfpipe/internal/testenv"
	"github.com/hfpipe/hfpipe/torch"
)

// nativeRefMeta is the "hfpipe" metadata native_reference.py writes.
type nativeRefMeta struct {
	Arch           string         `json:"arch"`
	Spec           string         `json:"spec"`
	Head           string         `json:"head"`
	Attn           string         `json:"attn"`
	DType          string         `json:"dtype"`
	Device         string         `json:"device"`
	AttnUsed       string         `json:"attn_used"`
	Cases          int            `json:"cases"`
	Threads        int            `json:"threads"`
	Outputs        []string       `json:"outputs"`
	WeightsInPlace int            `json:"weights_in_place"`
	Weights        int            `json:"weights"`
	Moved          []string       `json:"moved"`
	CPU            map[string]any `json:"cpu"`
}

var nativeModelsOnce sync.Once

// nativeParityModels runs native_reference.py once into testdata/gen: the
// models and eager transformers' outputs, remade when the script, the
// thread count or the kernel environment changed (the references must come
// from the kernels the Go run uses).
func nativeParityModels(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testenv.GenDir(t), "native-parity")
	script := filepath.Join(testenv.RepoRoot(), "third_party", "tools", "native_reference.py")
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(src)
	fmt.Fprintf(h, "threads=%d env=%s", torch.NumThreads(), torch.CPUEnv())
	stamp := hex.EncodeToString(h.Sum(nil))
	nativeModelsOnce.Do(func() {
		if b, err := os.ReadFile(filepath.Join(dir, ".stamp")); err == nil && string(b) == stamp {
			return
		}
		os.RemoveAll(dir)
		testenv.RunPython(t, "native_reference.py", "--out", dir, "--threads", fmt.Sprint(torch.NumThreads()))
		if err := os.WriteFile(filepath.Join(dir, ".stamp"), []byte(stamp), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if b, err := os.ReadFile(filepath.Join(dir, ".stamp")); err != nil || string(b) != stamp {
		t.Fatal("the native-parity references were not made (see the first failure)")
	}
	return dir
}

// refFile is one reference-<attn>.safetensors, mapped.
type refFile struct {
	meta    nativeRefMeta
	m       *torch.Mapping
	tensors map[string]weights.Tensor
}

func openRef(t *testing.T, path string) *refFile {
	t.Helper()
	ts, md, err := weights.ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &refFile{tensors: map[string]weights.Tensor{}}
	if err := json.Unmarshal([]byte(md["hfpipe"]), &r.meta); err != nil {
		t.Fatalf("%s: metadata: %v", path, err)
	}
	for _, x := range ts {
		r.tensors[x.Name] = x
	}
	if r.m, err = torch.MapFile(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.m.Close() })
	return r
}

func (r *refFile) tensor(t *testing.T, name string) *torch.Tensor {
	t.Helper()
	x, ok := r.tensors[name]
	if !ok {
		return nil
	}
	dt := map[weights.DType]torch.DType{weights.F32: torch.Float32, weights.I64: torch.Int64, weights.F16: torch.Float16, weights.BF16: torch.BFloat16}[x.DType]
	v, err := r.m.Tensor(x.Offset, x.Size, dt, x.Shape...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// parityTally counts one arch x head over attentions and layouts.
type parityTally struct {
	bitwise, total int
	maxAbs         float64
	attns, offsets map[string]bool
}

// compareBits compares two float32 tensors bit for bit and returns whether
// they are identical and their largest absolute difference.
func compareBits(t *testing.T, got, want *torch.Tensor) (bool, float64) {
	t.Helper()
	if fmt.Sprint(got.Shape()) != fmt.Sprint(want.Shape()) {
		t.Errorf("shape %v, want %v", got.Shape(), want.Shape())
		return false, math.Inf(1)
	}
	if got.DType() != want.DType() {
		t.Errorf("dtype %s, want %s", got.DType(), want.DType())
		return false, math.Inf(1)
	}
	if got.DType() != torch.Float32 { // float16/bfloat16 widen to float32 exactly
		g32, err := got.ToDType(torch.Float32)
		if err != nil {
			t.Fatal(err)
		}
		defer g32.Close()
		w32, err := want.ToDType(torch.Float32)
		if err != nil {
			t.Fatal(err)
		}
		defer w32.Close()
		got, want = g32, w32
	}
	g, err := torch.ToSlice[float32](got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := torch.ToSlice[float32](want)
	if err != nil {
		t.Fatal(err)
	}
	same, maxAbs := true, 0.0
	for i := range g {
		if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
			same = false
			maxAbs = math.Max(maxAbs, math.Abs(float64(g[i])-float64(w[i])))
		}
	}
	return same, maxAbs
}

// TestNativeParity runs every architecture x head natively on checkpoints
// whose tensors start at 0 and 8 mod 64, under each attention
// implementation transformers offers, and compares every output of every
// case (batch 1, 2, 8; padded and unpadded; lengths 1 to the maximum) with
// eager transformers' bit for bit, at the same thread count and kernels.
func TestNativeParity(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Python to make the references")
	}
	dir := nativeParityModels(t)
	folders, _ := filepath.Glob(filepath.Join(dir, "*-o*"))
	sort.Strings(folders)
	if len(folders) == 0 {
		t.Fatal("no reference folders")
	}
	tl := newTallies()
	for _, folder := range folders {
		refs, _ := filepath.Glob(filepath.Join(folder, "reference-*.safetensors"))
		for _, rp := range refs {
			checkNativeRef(t, folder, rp, tl)
		}
	}
	tl.print("native-parity")
}

// tallies collects parity counts per arch x head (x dtype), in first-seen order.
type tallies struct {
	m     map[string]*parityTally
	order []string
}

func newTallies() *tallies { return &tallies{m: map[string]*parityTally{}} }

func (ts *tallies) get(key string) *parityTally {
	tl := ts.m[key]
	if tl == nil {
		tl = &parityTally{attns: map[string]bool{}, offsets: map[string]bool{}}
		ts.m[key] = tl
		ts.order = append(ts.order, key)
	}
	return tl
}

// checkNativeRef loads the model of one reference file natively (its
// head, attention, dtype and device) and compares every case bit for bit.
func checkNativeRef(t *testing.T, folder, rp string, ts *tallies) {
	ctx := context.Background()
	ref := openRef(t, rp)
	md := ref.meta
	name := filepath.Base(folder) + "/" + strings.TrimSuffix(strings.TrimPrefix(filepath.Base(rp), "reference-"), ".safetensors")
	t.Run(name, func(t *testing.T) {
		if md.Threads != torch.NumThreads() {
			t.Fatalf("reference ran with %d threads, Go has %d", md.Threads, torch.NumThreads())
		}
		// transformers uses the file's pages in place, except for a
		// decoder's own bias, which tying the output embeddings pads
		// into fresh memory (the native code copies it alike). At
		// offset 0 a copy is indistinguishable, so only o8 tells.
		moved := map[string]bool{"vocab_projector.bias": true, "generator_lm_head.bias": true, "decoder.bias": true}
		for _, n := range md.Moved {
			if !moved[n] {
				t.Fatalf("eager transformers moved %s out of the file's pages (%d of %d in place)", n, md.WeightsInPlace, md.Weights)
			}
		}
		dt, err := torch.ParseDType(md.DType)
		if err != nil {
			t.Fatal(err)
		}
		device := torch.CPU
		if md.Device != "" && md.Device != "cpu" {
			if device, err = torch.ParseDevice(md.Device); err != nil {
				t.Fatal(err)
			}
		}
		m, err := hf.LoadModel(ctx, folder, hf.Head(md.Head), hf.WithAttention(md.Attn), hf.WithDType(dt), hf.WithDevice(device))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if !m.Native() {
			t.Fatal("the model did not load natively")
		}
		// the SPECS entry: one model type may have several
		arch := md.Arch
		if md.Spec != "" {
			arch = md.Spec
		}
		key := arch + " " + md.Head
		if md.DType != "float32" || strings.Contains(folder, "-stored-") {
			key += " dtype=" + md.DType
			if i := strings.Index(folder, "-stored-"); i >= 0 {
				key += " (weights stored as " + folder[i+len("-stored-"):] + ")"
			}
		}
		tl := ts.get(key)
		tl.attns[md.Attn] = true
		off := folder[strings.LastIndex(folder, "-o")+2:]
		tl.offsets[strings.SplitN(off, "-", 2)[0]] = true
		for i := 0; i < md.Cases; i++ {
			c := fmt.Sprintf("c%d.", i)
			var in []torch.Value
			for _, n := range m.InputNames() {
				x := ref.tensor(t, c+n)
				if x == nil {
					continue
				}
				defer x.Close()
				in = append(in, x)
			}
			out, err := m.ForwardTensors(ctx, in...)
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			var outs []*torch.Tensor
			switch v := out.(type) {
			case *torch.Tensor:
				outs = []*torch.Tensor{v}
			case torch.Tuple:
				for _, e := range v {
					outs = append(outs, e.(*torch.Tensor))
				}
			}
			if len(outs) != len(md.Outputs) {
				t.Fatalf("case %d: %d outputs, transformers gave %d (%v)", i, len(outs), len(md.Outputs), md.Outputs)
			}
			ok := true
			for j, o := range outs {
				want := ref.tensor(t, fmt.Sprintf("%sout%d", c, j))
				same, d := compareBits(t, o, want)
				want.Close()
				if !same {
					ok = false
					tl.maxAbs = math.Max(tl.maxAbs, d)
					if tl.total-tl.bitwise < 3 {
						t.Errorf("case %d (%v): %s differs from transformers by up to %g", i, in[0].(*torch.Tensor).Shape(), md.Outputs[j], d)
					}
				}
			}
			torch.CloseValue(out)
			tl.total++
			if ok {
				tl.bitwise++
			}
		}
	})
}

// print writes one line per arch x head: "<what>: arch=A head=H bitwise=M/N max_abs_diff=X (...)".
func (ts *tallies) print(what string) {
	for _, k := range ts.order {
		tl := ts.m[k]
		parts := strings.SplitN(k, " ", 3)
		extra := ""
		if len(parts) == 3 {
			extra = " " + parts[2]
		}
		fmt.Printf("%s: arch=%s head=%s bitwise=%d/%d max_abs_diff=%g (attn %s; tensors at %s mod 64)%s\n", what,
			parts[0], parts[1], tl.bitwise, tl.total, tl.maxAbs, strings.Join(sortedKeys(tl.attns), ","), strings.Join(sortedKeys(tl.offsets), ","), extra)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestNativeCUDA is the GPU check of native models (make gpu-check): the
// references run on the GPU with transformers in float32, float16 and
// bfloat16, and Go's native models on the same GPU must match them bit for
// bit (the same operations reach the same cuBLAS/SDPA kernels).
func TestNativeCUDA(t *testing.T) {
	testenv.RequireCUDA(t, torch.CUDAIsAvailable())
	dir := t.TempDir()
	testenv.RunPython(t, "native_reference.py", "--out", dir, "--device", "cuda", "--compute-dtypes", "float16,bfloat16",
		"--offsets", "0", "--threads", fmt.Sprint(torch.NumThreads()),
		"--only", "bert:sequence-classification", "--only", "distilbert:base", "--only", "roberta:token-classification", "--only", "electra:question-answering")
	folders, _ := filepath.Glob(filepath.Join(dir, "*-o*"))
	sort.Strings(folders)
	tl := newTallies()
	for _, folder := range folders {
		refs, _ := filepath.Glob(filepath.Join(folder, "reference-*.safetensors"))
		for _, rp := range refs {
			checkNativeRef(t, folder, rp, tl)
		}
	}
	tl.print("native-cuda-parity")
}
