package hub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// commitHashPattern is huggingface_hub's REGEX_COMMIT_HASH: only a full
// lower-case sha1 is taken as a commit; anything else is a ref name.
var commitHashPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// IsCommitHash reports whether revision is a full commit hash, which needs no
// refs/ lookup.
func IsCommitHash(revision string) bool { return commitHashPattern.MatchString(revision) }

// RepoFolderName returns the cache folder name of a model repo, as
// huggingface_hub's repo_folder_name: "models--org--name".
func RepoFolderName(repoID string) string {
	return strings.Join(append([]string{"models"}, strings.Split(repoID, "/")...), "--")
}

// RepoDir returns the folder holding a repo's blobs, refs and snapshots.
func (c *Client) RepoDir(repoID string) string {
	return filepath.Join(c.cacheDir, RepoFolderName(repoID))
}

// checkRevision refuses branch or tag names that, as a path under refs/,
// would leave that folder or name something odd: "", "." or ".." parts,
// a leading '/', backslashes and control characters. Git's own rules
// (git check-ref-format) refuse all of these, so no Hub revision is lost;
// huggingface_hub joins the name into a path unchecked.
func checkRevision(repoID, revision string) error {
	bad := strings.HasPrefix(revision, "/") ||
		strings.ContainsFunc(revision, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f })
	for _, part := range strings.Split(revision, "/") {
		bad = bad || part == "" || part == "." || part == ".."
	}
	if bad {
		return &Error{Kind: ErrInvalid, RepoID: repoID, Revision: revision,
			Err: errors.New("not a valid branch, tag or commit name (no empty, \".\" or \"..\" path parts, backslashes or control characters): check the revision")}
	}
	return nil
}

// checkFilename refuses names that would land outside the snapshot folder,
// like huggingface_hub's _get_pointer_path check.
func checkFilename(repoID, name string) error {
	clean := path.Clean(name)
	if name == "" || path.IsAbs(name) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(name, "\\") {
		return &Error{Kind: ErrInvalid, RepoID: repoID, Filename: name, Err: errors.New("filename must be a relative path inside the repository")}
	}
	return nil
}

func pointerPath(storage, commit, filename string) string {
	return filepath.Join(storage, "snapshots", commit, filepath.FromSlash(filename))
}

// readRef returns the commit a branch or tag pointed to when last seen.
func readRef(storage, revision string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(storage, "refs", filepath.FromSlash(revision)))
	if err != nil {
		return "", false
	}
	// Python writes the bare hash; trimming tolerates a hand-edited newline.
	// Anything but a hash is ignored (as a missing ref): the commit names
	// a folder, and a ref file edited by hand or by another program could
	// otherwise point outside the cache.
	s := strings.TrimSpace(string(b))
	return s, IsCommitHash(s)
}

// commitFor maps a revision to a cached commit hash, without the network.
func commitFor(storage, revision string) (string, bool) {
	if IsCommitHash(revision) {
		return revision, true
	}
	return readRef(storage, revision)
}

// writeRef records revision → commit like _cache_commit_hash_for_specific_revision,
// but through a rename so that a concurrent reader never sees an empty ref.
func writeRef(storage, revision, commit string) error {
	if revision == commit {
		return nil
	}
	if cur, ok := readRef(storage, revision); ok && cur == commit {
		return nil
	}
	p := filepath.Join(storage, "refs", filepath.FromSlash(revision))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(p, []byte(commit))
}

func writeFileAtomic(p string, data []byte) error {
	tmp := p + ".tmp-" + randSuffix()
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func randSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// linkPointer makes snapshots/<commit>/<file> a relative symlink to the blob,
// the form huggingface_hub creates so that a moved cache keeps working. It
// goes through a temporary name and a rename, which replaces any existing
// pointer atomically where Python removes then re-creates it.
func linkPointer(blob, pointer string) error {
	absBlob, err := filepath.Abs(blob)
	if err != nil {
		return err
	}
	absPtr, err := filepath.Abs(pointer)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(absPtr), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(absPtr), absBlob)
	if err != nil {
		rel = absBlob
	}
	tmp := absPtr + ".tmp-" + randSuffix()
	if err := os.Symlink(rel, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, absPtr); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// CachedFile returns the cached path of filename at revision (default
// "main") without touching the network, like huggingface_hub's
// try_to_load_from_cache. It fails with [ErrNotCached] when the file is not
// there and with [ErrEntryNotFound] when the cache records that the file does
// not exist at that commit.
func (c *Client) CachedFile(repoID, filename, revision string) (string, error) {
	if revision == "" {
		revision = DefaultRevision
	}
	if local, err := isLocalPath(repoID); err != nil {
		return "", err
	} else if local {
		return localFile(repoID, filename)
	}
	if err := ValidateRepoID(repoID); err != nil {
		return "", err
	}
	if err := checkRevision(repoID, revision); err != nil {
		return "", err
	}
	if err := checkFilename(repoID, filename); err != nil {
		return "", err
	}
	storage := c.RepoDir(repoID)
	commit, ok := commitFor(storage, revision)
	if ok {
		if p := pointerPath(storage, commit, filename); exists(p) {
			return p, nil
		}
		if exists(filepath.Join(storage, ".no_exist", commit, filepath.FromSlash(filename))) {
			return "", &Error{Kind: ErrEntryNotFound, Op: "cache lookup", RepoID: repoID, Revision: revision, Filename: filename,
				Err: fmt.Errorf("recorded as missing at commit %s", commit)}
		}
	}
	return "", &Error{Kind: ErrNotCached, Op: "cache lookup", RepoID: repoID, Revision: revision, Filename: filename,
		CacheDir: c.cacheDir}
}

// CachedSnapshot returns the cached snapshot folder of revision (default
// "main") without touching the network, or an error wrapping [ErrNotCached].
// Like snapshot_download in offline mode it cannot tell whether every file
// of the revision is there.
func (c *Client) CachedSnapshot(repoID, revision string) (string, error) {
	if revision == "" {
		revision = DefaultRevision
	}
	if local, err := isLocalPath(repoID); err != nil {
		return "", err
	} else if local {
		return repoID, nil
	}
	if err := ValidateRepoID(repoID); err != nil {
		return "", err
	}
	if err := checkRevision(repoID, revision); err != nil {
		return "", err
	}
	storage := c.RepoDir(repoID)
	if commit, ok := commitFor(storage, revision); ok {
		if dir := filepath.Join(storage, "snapshots", commit); exists(dir) {
			return dir, nil
		}
	}
	return "", &Error{Kind: ErrNotCached, Op: "cache lookup", RepoID: repoID, Revision: revision, CacheDir: c.cacheDir}
}

func localFile(dir, filename string) (string, error) {
	if err := checkFilename(dir, filename); err != nil {
		return "", err
	}
	p := filepath.Join(dir, filepath.FromSlash(filename))
	if !exists(p) {
		return "", &Error{Kind: ErrEntryNotFound, Op: "open", RepoID: dir, Filename: filename, Err: errors.New("not in the local model folder")}
	}
	return p, nil
}
