package hf

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hfpipe/hfpipe/torch"
)

// Head names the task-specific part of a model, as in the transformers
// class names (AutoModel, AutoModelFor<Head>). An export holds one head.
type Head string

// Heads. Only Base and SequenceClassification have loaders today; the others
// name the exports the course lists, so that an export of them is
// recognised and refused with a clear message rather than misread.
const (
	HeadBase                   Head = "base"
	HeadSequenceClassification Head = "sequence-classification"
	HeadTokenClassification    Head = "token-classification"
	HeadQuestionAnswering      Head = "question-answering"
	HeadMaskedLM               Head = "masked-lm"
	HeadMultipleChoice         Head = "multiple-choice"
	HeadCausalLM               Head = "causal-lm"
)

// ExportInfo is the metadata file written beside a TorchScript export by
// third_party/tools/export.py (hfpipe-{head}-{device}-{dtype}.json).
type ExportInfo struct {
	FormatVersion         int      `json:"format_version"`
	Format                string   `json:"format"`
	File                  string   `json:"file"`
	Head                  Head     `json:"head"`
	ModelType             string   `json:"model_type"`
	Architectures         []string `json:"architectures"`
	Inputs                []string `json:"inputs"`
	Outputs               []string `json:"outputs"`
	OutputKind            string   `json:"output_kind"`
	TorchVersion          string   `json:"torch_version"`
	TransformersVersion   string   `json:"transformers_version"`
	TracedDevice          string   `json:"traced_device"`
	DType                 string   `json:"dtype"`
	AttnImplementation    string   `json:"attn_implementation"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	VocabSize             int      `json:"vocab_size"`
	SHA256                string   `json:"sha256"`
	FileSize              int64    `json:"file_size"`
	// ParameterAlignment is where the eager transformers model had each
	// weight when the export was made (transformers runs a memory-mapped
	// safetensors file in place, often only 8-byte aligned). Loading places
	// the module's CPU weights alike (torch.Module.AlignParameters), so that
	// they round as eager transformers' do. Absent in older exports.
	ParameterAlignment *ParameterAlignment `json:"parameter_alignment,omitempty"`

	// Path is the metadata file this was read from.
	Path string `json:"-"`
}

// ParameterAlignment is a weight placement: each tensor's byte offset
// modulo Modulus.
type ParameterAlignment struct {
	Modulus int            `json:"modulus"`
	Offsets map[string]int `json:"offsets"`
}

// ModulePath is the TorchScript file the metadata describes.
func (e *ExportInfo) ModulePath() string { return filepath.Join(filepath.Dir(e.Path), e.File) }

// ExportStem is the file name, without extension, of the export of head
// for a device type ("cpu" or "cuda") and dtype.
func ExportStem(head Head, device torch.Device, dtype torch.DType) string {
	dev := "cpu"
	if device.IsCUDA() {
		dev = "cuda"
	}
	return fmt.Sprintf("hfpipe-%s-%s-%s", head, dev, dtype)
}

// ErrNoExport is wrapped by the error FindExport returns when a model folder
// has no TorchScript export for the wanted head, device and dtype.
var ErrNoExport = errors.New("no TorchScript export")

// FindExport reads the metadata of the export of head for device and dtype
// in dir and checks it is usable: right head, supported format, a module
// file present.
func FindExport(dir string, head Head, device torch.Device, dtype torch.DType) (*ExportInfo, error) {
	stem := ExportStem(head, device, dtype)
	metaPath := filepath.Join(dir, stem+".json")
	raw, err := os.ReadFile(metaPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, noExportError(dir, head, device, dtype)
	}
	if err != nil {
		return nil, fmt.Errorf("hf: reading export metadata: %w", err)
	}
	var info ExportInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, fmt.Errorf("hf: export metadata %s is not valid JSON (%v): re-run the export", metaPath, err)
	}
	info.Path = metaPath
	switch {
	case info.Head != head:
		return nil, fmt.Errorf("hf: export metadata %s is for head %q, not %q: re-run the export", metaPath, info.Head, head)
	case info.Format != "torchscript":
		return nil, fmt.Errorf("hf: export %s has format %q; this build loads torchscript only", metaPath, info.Format)
	case len(info.Inputs) < 2 || info.Inputs[0] != "input_ids" || info.Inputs[1] != "attention_mask":
		return nil, fmt.Errorf("hf: export %s takes inputs %v; want input_ids, attention_mask[, token_type_ids]", metaPath, info.Inputs)
	case info.File == "":
		return nil, fmt.Errorf("hf: export metadata %s names no module file: re-run the export", metaPath)
	}
	st, err := os.Stat(info.ModulePath())
	if err != nil {
		return nil, fmt.Errorf("hf: export metadata %s is there but its module %s is missing: re-run the export", metaPath, info.File)
	}
	// A size check costs nothing and catches a cut download or a module
	// re-exported without its metadata (the sha256 would cost a read of
	// hundreds of MB on every load).
	if info.FileSize > 0 && st.Size() != info.FileSize {
		return nil, fmt.Errorf("hf: export module %s is %d bytes but its metadata says %d: the file is cut short or belongs to another export; re-run the export", info.ModulePath(), st.Size(), info.FileSize)
	}
	return &info, nil
}

// ErrTorchVersion is wrapped by the error loaders return when an export was
// traced by another torch release than the libtorch this program runs:
// TorchScript files are only sure to load, and to compute the same numbers,
// in the release that wrote them.
var ErrTorchVersion = errors.New("export traced by another torch release")

// embeddedTorchVersion reads the torch_version of the metadata that
// export.py embeds in the module (extra file hfpipe/metadata.json of the
// TorchScript zip archive). Only the archive's directory and that small
// entry are read. ok is false when the module has none or cannot be read
// as a zip; torch.Load then says what is wrong with it.
func embeddedTorchVersion(module string) (version string, ok bool) {
	zr, err := zip.OpenReader(module)
	if err != nil {
		return "", false
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "/extra/hfpipe/metadata.json") || f.UncompressedSize64 > 1<<20 {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", false
		}
		defer rc.Close()
		var meta struct {
			TorchVersion string `json:"torch_version"`
		}
		if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&meta); err != nil || meta.TorchVersion == "" {
			return "", false
		}
		return meta.TorchVersion, true
	}
	return "", false
}

// torchRelease returns the major.minor.patch of a torch version string,
// without a local build suffix ("2.10.0+cu128" → "2.10.0") or a
// pre-release tail ("2.11.0a0+git1234" → "2.11.0"); ok is false when
// there are no three numbers to compare.
func torchRelease(v string) (string, bool) {
	v, _, _ = strings.Cut(v, "+")
	parts := strings.SplitN(v, ".", 4)
	if len(parts) < 3 {
		return "", false
	}
	for i, p := range parts[:3] {
		n := 0
		for n < len(p) && p[n] >= '0' && p[n] <= '9' {
			n++
		}
		if n == 0 {
			return "", false
		}
		parts[i] = p[:n]
	}
	return strings.Join(parts[:3], "."), true
}

// checkTorchVersion refuses an export traced by another torch release than
// running (torch.Version()), as its metadata file or, more to the point,
// the metadata embedded in the module says. Versions that cannot be read
// are not compared.
func checkTorchVersion(info *ExportInfo, running string, device torch.Device, dtype torch.DType) error {
	want, ok := torchRelease(running)
	if !ok {
		return nil
	}
	traced := []string{info.TorchVersion}
	if v, ok := embeddedTorchVersion(info.ModulePath()); ok {
		traced = append(traced, v)
	}
	for _, v := range traced {
		got, ok := torchRelease(v)
		if !ok || got == want {
			continue
		}
		dir := filepath.Dir(info.Path)
		dev := "cpu"
		if device.IsCUDA() {
			dev = "cuda"
		}
		return fmt.Errorf("hf: %w: %s was traced with torch %s but this program runs libtorch %s: re-export it with torch %s "+
			"(python third_party/tools/export.py --model %s --head %s --device %s --dtype %s, with that torch installed), "+
			"or point LIBTORCH at libtorch %s and rebuild (make shim), or load it anyway with hf.WithoutTorchVersionCheck()",
			ErrTorchVersion, info.File, v, running, want, dir, info.Head, dev, dtype, got)
	}
	return nil
}

func noExportError(dir string, head Head, device torch.Device, dtype torch.DType) error {
	dev := "cpu"
	if device.IsCUDA() {
		dev = "cuda"
	}
	var have []string
	if m, _ := filepath.Glob(filepath.Join(dir, "hfpipe-*.json")); len(m) > 0 {
		for _, p := range m {
			have = append(have, strings.TrimSuffix(filepath.Base(p), ".json"))
		}
		sort.Strings(have)
	}
	msg := fmt.Sprintf("hf: %v for head %s on %s in %s (want %s.pt)", ErrNoExport, head, dev+"/"+dtype.String(), dir, ExportStem(head, device, dtype))
	if len(have) > 0 {
		msg += "; the folder has " + strings.Join(have, ", ")
	}
	if hasWeights(dir) {
		msg += fmt.Sprintf("; make it with: python third_party/tools/export.py --model %s --head %s --device %s --dtype %s", dir, head, dev, dtype)
	} else {
		msg += "; the folder has no weights either (model.safetensors or pytorch_model.bin): is it a model folder?"
	}
	return &exportError{msg: msg}
}

// exportError is a missing export; errors.Is(err, ErrNoExport) holds.
type exportError struct{ msg string }

func (e *exportError) Error() string { return e.msg }
func (e *exportError) Unwrap() error { return ErrNoExport }

func hasWeights(dir string) bool {
	for _, pat := range []string{"model.safetensors", "model-*-of-*.safetensors", "pytorch_model.bin", "pytorch_model-*-of-*.bin"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pat)); len(m) > 0 {
			return true
		}
	}
	return false
}
