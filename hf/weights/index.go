package weights

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxIndexSize bounds the shard index file read into memory.
const maxIndexSize = MaxHeaderSize

// readSharded reads c.Index ({"metadata": {...}, "weight_map": {tensor:
// shard}}) and then every shard it names, once each, with read. Shard names
// are untrusted: only plain file names in c.Dir are accepted. Every tensor
// of the weight_map must be in the shard it names; tensors a shard holds
// beyond the weight_map are kept (transformers loads them too); a tensor
// name in two shards is an error.
func (c *Checkpoint) readSharded(read func(path string) ([]Tensor, map[string]string, error)) error {
	weightMap, err := readIndex(c.Index)
	if err != nil {
		return err
	}
	var shards []string
	for name, shard := range weightMap {
		if err := checkShardName(shard); err != nil {
			return invalidf(c.Index, "weight_map gives tensor %q the shard %q, %v", name, shard, err)
		}
		shards = append(shards, shard)
	}
	slices.Sort(shards)
	shards = slices.Compact(shards)

	where := make(map[string]string) // tensor name → shard holding it
	for _, shard := range shards {
		path := filepath.Join(c.Dir, shard)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return &Error{Kind: ErrNotFound, File: c.Index,
				Msg: fmt.Sprintf("shard %q (named in the weight_map) is missing from %s: download the checkpoint again", shard, c.Dir),
				Err: err}
		}
		tensors, meta, err := read(path)
		if err != nil {
			return err
		}
		if c.Metadata == nil {
			c.Metadata = meta
		}
		for _, t := range tensors {
			if other, dup := where[t.Name]; dup {
				return invalidf(c.Index, "tensor %q is in two shards, %q and %q: the checkpoint is inconsistent, download it again", t.Name, other, shard)
			}
			where[t.Name] = shard
		}
		c.Files = append(c.Files, path)
		c.Tensors = append(c.Tensors, tensors...)
	}
	names := make([]string, 0, len(weightMap))
	for name := range weightMap {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if got := where[name]; got != weightMap[name] {
			also := ""
			if got != "" {
				also = fmt.Sprintf(" (it is in %q)", got)
			}
			return invalidf(c.Index, "weight_map puts tensor %q in shard %q, but that shard does not hold it%s: the index and the shards do not match, download the checkpoint again", name, weightMap[name], also)
		}
	}
	slices.SortFunc(c.Tensors, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// readIndex reads and checks a shard index file, returning its weight_map.
func readIndex(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ioError(path, "cannot open the shard index", err)
	}
	defer f.Close()
	doc, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err != nil {
		return nil, ioError(path, "cannot read the shard index", err)
	}
	if len(doc) > maxIndexSize {
		return nil, invalidf(path, "shard index larger than %d bytes: not a shard index", maxIndexSize)
	}
	weightMap, err := parseIndex(doc)
	if err != nil {
		return nil, invalidf(path, "shard index: %v", err)
	}
	return weightMap, nil
}

// parseIndex walks {"metadata": {...}, "weight_map": {"name": "shard"}};
// other top-level keys are ignored, as transformers ignores them.
func parseIndex(doc []byte) (map[string]string, error) {
	w, err := newJSONWalker(doc)
	if err != nil {
		return nil, err
	}
	var weightMap map[string]string
	_, err = w.object("the index", false, func(key string) error {
		if key != "weight_map" {
			return w.skip()
		}
		weightMap = make(map[string]string)
		_, err := w.object("weight_map", false, func(name string) error {
			shard, err := w.str(fmt.Sprintf("weight_map[%q]", name))
			weightMap[name] = shard
			return err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := w.end(); err != nil {
		return nil, err
	}
	if weightMap == nil {
		return nil, errors.New("no weight_map")
	}
	if len(weightMap) == 0 {
		return nil, errors.New("the weight_map is empty")
	}
	return weightMap, nil
}

// checkShardName accepts only a plain file name: no directory part, no
// "..", nothing absolute, no control characters.
func checkShardName(name string) error {
	switch {
	case name == "":
		return errors.New("which is empty")
	case name == "." || name == "..":
		return errors.New("which is not a file name")
	case strings.ContainsAny(name, `/\`):
		return errors.New("which has a path separator: a shard must be a plain file name in the checkpoint folder")
	case strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return errors.New("which has a control character")
	case !filepath.IsLocal(name) || filepath.Base(name) != name:
		return errors.New("which is not a plain file name in the checkpoint folder")
	}
	return nil
}
