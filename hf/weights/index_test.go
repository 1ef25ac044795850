package weights

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// shard returns a safetensors file holding U8 tensors of 4 bytes, one per
// name.
func shard(names ...string) []byte {
	var parts []string
	for i, n := range names {
		parts = append(parts, `"`+n+`":{"dtype":"U8","shape":[4],"data_offsets":[`+itoa(4*i)+`,`+itoa(4*i+4)+`]}`)
	}
	return stBytes(`{"__metadata__":{"format":"pt"},`+strings.Join(parts, ",")+`}`, 4*len(names))
}

func TestOpenShardedSafetensors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "model-00001-of-00002.safetensors", shard("a", "b"))
	writeFile(t, dir, "model-00002-of-00002.safetensors", shard("c", "extra"))
	writeFile(t, dir, SafetensorsIndexName, []byte(`{"metadata":{"total_size":16,"nested":{"x":[1,{"y":null}]}},
		"weight_map":{"c":"model-00002-of-00002.safetensors","a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors"}}`))
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != "safetensors" || c.Index != filepath.Join(dir, SafetensorsIndexName) || c.Dir != dir {
		t.Errorf("checkpoint %+v", c)
	}
	wantFiles := []string{filepath.Join(dir, "model-00001-of-00002.safetensors"), filepath.Join(dir, "model-00002-of-00002.safetensors")}
	if !reflect.DeepEqual(c.Files, wantFiles) {
		t.Errorf("files %v, want %v", c.Files, wantFiles)
	}
	var names []string
	for _, tt := range c.Tensors {
		names = append(names, tt.Name)
	}
	// "extra" is in a shard but not in the weight_map: transformers loads it.
	if !reflect.DeepEqual(names, []string{"a", "b", "c", "extra"}) {
		t.Errorf("tensors %v", names)
	}
	if tt, ok := c.Lookup("extra"); !ok || tt.File != wantFiles[1] || tt.Size != 4 {
		t.Errorf("Lookup(extra) = %+v, %v", tt, ok)
	}
	if _, ok := c.Lookup("zzz"); ok {
		t.Error("Lookup(zzz) found something")
	}
	if c.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", c.Metadata)
	}
}

func TestShardedHostile(t *testing.T) {
	cases := []struct {
		name   string
		index  string
		shards map[string][]byte
		kind   error
		frags  []string
	}{
		{"parent dir shard", `{"weight_map":{"a":"../x.safetensors"}}`, nil, ErrInvalid,
			[]string{`weight_map gives tensor "a" the shard "../x.safetensors", which has a path separator`}},
		{"dot dot", `{"weight_map":{"a":".."}}`, nil, ErrInvalid, []string{`the shard "..", which is not a file name`}},
		{"absolute shard", `{"weight_map":{"a":"/etc/passwd"}}`, nil, ErrInvalid, []string{`"/etc/passwd", which has a path separator`}},
		{"subdir shard", `{"weight_map":{"a":"sub/x.safetensors"}}`, nil, ErrInvalid, []string{`path separator`}},
		{"backslash shard", `{"weight_map":{"a":"..\\x.safetensors"}}`, nil, ErrInvalid, []string{`path separator`}},
		{"empty shard name", `{"weight_map":{"a":""}}`, nil, ErrInvalid, []string{`the shard "", which is empty`}},
		{"control character", `{"weight_map":{"a":"x\n.safetensors"}}`, nil, ErrInvalid, []string{`control character`}},
		{"missing shard", `{"weight_map":{"a":"gone.safetensors"}}`, nil, ErrNotFound,
			[]string{`shard "gone.safetensors" (named in the weight_map) is missing`}},
		{"tensor not in its shard", `{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}}`,
			map[string][]byte{"s1.safetensors": shard("a")}, ErrInvalid,
			[]string{`weight_map puts tensor "b" in shard "s1.safetensors", but that shard does not hold it`}},
		{"tensor in another shard", `{"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}}`,
			map[string][]byte{"s1.safetensors": shard("a"), "s2.safetensors": shard("b")}, ErrInvalid,
			[]string{`does not hold it`}},
		{"tensor in the wrong shard", `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}`,
			map[string][]byte{"s1.safetensors": shard("a", "b"), "s2.safetensors": shard("c")}, ErrInvalid,
			[]string{`tensor "b" in shard "s2.safetensors", but that shard does not hold it (it is in "s1.safetensors")`}},
		{"tensor in two shards", `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}`,
			map[string][]byte{"s1.safetensors": shard("a", "b"), "s2.safetensors": shard("b")}, ErrInvalid,
			[]string{`tensor "b" is in two shards, "s1.safetensors" and "s2.safetensors"`}},
		{"duplicate weight_map key", `{"weight_map":{"a":"s1.safetensors","a":"s1.safetensors"}}`,
			map[string][]byte{"s1.safetensors": shard("a")}, ErrInvalid, []string{`weight_map has the key "a" twice`}},
		{"duplicate weight_map", `{"weight_map":{"a":"s1.safetensors"},"weight_map":{}}`,
			map[string][]byte{"s1.safetensors": shard("a")}, ErrInvalid, []string{`the index has the key "weight_map" twice`}},
		{"no weight_map", `{"metadata":{}}`, nil, ErrInvalid, []string{`shard index: no weight_map`}},
		{"empty weight_map", `{"weight_map":{}}`, nil, ErrInvalid, []string{`the weight_map is empty`}},
		{"weight_map value not a string", `{"weight_map":{"a":1}}`, nil, ErrInvalid, []string{`weight_map["a"] is a number, want a string`}},
		{"weight_map not an object", `{"weight_map":["a"]}`, nil, ErrInvalid, []string{`weight_map is an array`}},
		{"invalid JSON", `{"weight_map":`, nil, ErrInvalid, []string{`shard index: unexpected end of JSON`}},
		{"not an object", `[]`, nil, ErrInvalid, []string{`the index is an array`}},
		{"broken shard", `{"weight_map":{"a":"s1.safetensors"}}`,
			map[string][]byte{"s1.safetensors": []byte("junk")}, ErrInvalid, []string{`s1.safetensors: file is 4 bytes, too short`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			index := writeFile(t, dir, SafetensorsIndexName, []byte(c.index))
			for name, data := range c.shards {
				writeFile(t, dir, name, data)
			}
			ck, err := Open(dir)
			if err == nil {
				t.Fatalf("accepted: %+v", ck)
			}
			file := index
			if c.name == "broken shard" {
				file = filepath.Join(dir, "s1.safetensors")
			}
			wantError(t, err, c.kind, file, c.frags...)
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir)
	wantError(t, err, ErrNotFound, dir, "no checkpoint: looked for model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v is not fs.ErrNotExist", err)
	}

	// transformers' order: model.safetensors before everything else, and a
	// .bin only when there is no safetensors.
	writeFile(t, dir, PytorchName, torchZip(t, stateDictPickle(pkTensor{"p", "FloatStorage", "0", 1, 0, []int64{1}, []int64{1}}), map[string][]byte{"0": seq(4)}))
	c, err := Open(dir)
	if err != nil || c.Format != "pytorch" || len(c.Tensors) != 1 || c.Tensors[0].Name != "p" || c.Metadata != nil {
		t.Fatalf("pytorch only: %+v %v", c, err)
	}
	writeFile(t, dir, SafetensorsIndexName, []byte(`{"weight_map":{"i":"s.safetensors"}}`))
	writeFile(t, dir, "s.safetensors", shard("i"))
	if c, err = Open(dir); err != nil || c.Format != "safetensors" || c.Tensors[0].Name != "i" {
		t.Fatalf("index over bin: %+v %v", c, err)
	}
	writeFile(t, dir, SafetensorsName, shard("s"))
	if c, err = Open(dir); err != nil || c.Format != "safetensors" || c.Index != "" || c.Tensors[0].Name != "s" {
		t.Fatalf("model.safetensors first: %+v %v", c, err)
	}

	// A directory where the file should be.
	dir2 := t.TempDir()
	os.Mkdir(filepath.Join(dir2, SafetensorsName), 0o755)
	_, err = Open(dir2)
	wantError(t, err, ErrInvalid, filepath.Join(dir2, SafetensorsName), "a directory, not a file")
}

func TestOpenShardedPytorch(t *testing.T) {
	dir := t.TempDir()
	one := func(name string) []byte {
		return torchZip(t, stateDictPickle(pkTensor{name, "FloatStorage", "0", 2, 0, []int64{2}, []int64{1}}), map[string][]byte{"0": seq(8)})
	}
	writeFile(t, dir, "pytorch_model-00001-of-00002.bin", one("a"))
	writeFile(t, dir, "pytorch_model-00002-of-00002.bin", one("b"))
	writeFile(t, dir, PytorchIndexName, []byte(`{"metadata":{"total_size":16},"weight_map":{"a":"pytorch_model-00001-of-00002.bin","b":"pytorch_model-00002-of-00002.bin"}}`))
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != "pytorch" || len(c.Files) != 2 || len(c.Tensors) != 2 || c.Tensors[1].File != c.Files[1] {
		t.Errorf("%+v", c)
	}
	writeFile(t, dir, PytorchIndexName, []byte(`{"weight_map":{"a":"../pytorch_model-00001-of-00002.bin"}}`))
	_, err = Open(dir)
	wantError(t, err, ErrInvalid, PytorchIndexName, "path separator")
}
