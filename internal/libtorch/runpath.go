package libtorch

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
)

var errNoRunPath = errors.New("has no DT_RUNPATH or DT_RPATH")

// SetRunPath replaces the run path (DT_RUNPATH, or DT_RPATH) of an ELF
// file in place with path, as `patchelf --set-rpath` does when the new
// value fits: the string in .dynstr is overwritten and padded with NULs, so
// path must be no longer than the old run path, and the old string must not
// be shared with another dynamic entry.
func SetRunPath(file, path string) error {
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	if ef.Class != elf.ELFCLASS64 {
		return fmt.Errorf("%s: only 64-bit ELF files are supported", file)
	}
	dyn := ef.Section(".dynamic")
	dynstr := ef.Section(".dynstr")
	if dyn == nil || dynstr == nil {
		return fmt.Errorf("%s: no dynamic section: %w", file, errNoRunPath)
	}
	data, err := dyn.Data()
	if err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	strs, err := dynstr.Data()
	if err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	bo := ef.ByteOrder
	type entry struct{ tag, val uint64 }
	var entries []entry
	for i := 0; i+16 <= len(data); i += 16 {
		e := entry{bo.Uint64(data[i:]), bo.Uint64(data[i+8:])}
		if elf.DynTag(e.tag) == elf.DT_NULL {
			break
		}
		entries = append(entries, e)
	}
	var found bool
	for _, e := range entries {
		tag := elf.DynTag(e.tag)
		if tag != elf.DT_RUNPATH && tag != elf.DT_RPATH {
			continue
		}
		found = true
		start := e.val
		if start >= uint64(len(strs)) {
			return fmt.Errorf("%s: run path outside .dynstr", file)
		}
		end := start
		for end < uint64(len(strs)) && strs[end] != 0 {
			end++
		}
		if uint64(len(path)) > end-start {
			return fmt.Errorf("%s: the new run path %q is longer than the old %q", file, path, strs[start:end])
		}
		for _, o := range entries {
			t := elf.DynTag(o.tag)
			if (t == elf.DT_NEEDED || t == elf.DT_SONAME) && o.val >= start && o.val <= end {
				return fmt.Errorf("%s: the run path's string is shared with another entry", file)
			}
		}
		buf := make([]byte, end-start)
		copy(buf, path)
		if _, err := f.WriteAt(buf, int64(dynstr.Offset+start)); err != nil {
			return fmt.Errorf("%s: %v", file, err)
		}
	}
	if !found {
		return fmt.Errorf("%s %w", file, errNoRunPath)
	}
	return nil
}
