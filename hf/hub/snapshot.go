package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// RepoInfo is the part of the Hub's /api/models answer that hfpipe uses.
type RepoInfo struct {
	// ID is the repo id, as the Hub spells it.
	ID string `json:"id"`
	// SHA is the commit the requested revision resolved to.
	SHA string `json:"sha"`
	// Private and Gated say who may read the files.
	Private bool  `json:"private"`
	Gated   Gated `json:"gated"`
	// Disabled repos cannot be downloaded.
	Disabled bool `json:"disabled"`
	// PipelineTag is the task, e.g. "text-classification".
	PipelineTag string `json:"pipeline_tag"`
	// LibraryName is e.g. "transformers".
	LibraryName string   `json:"library_name"`
	Tags        []string `json:"tags"`
	// LastModified is kept as the Hub writes it (RFC 3339) so that an
	// unexpected format cannot break downloads.
	LastModified string `json:"lastModified"`
	// Siblings are the repo's files at SHA.
	Siblings []Sibling `json:"siblings"`
}

// Sibling is one file of a repo.
type Sibling struct {
	// RFilename is the path inside the repo, with '/' separators.
	RFilename string `json:"rfilename"`
	// Size is set only when the Hub was asked for blob details.
	Size int64 `json:"size,omitempty"`
}

// Gated is a repo's gating mode: "" (not gated), "auto" or "manual". The
// Hub sends false for "not gated" and the mode's name otherwise.
type Gated string

// UnmarshalJSON accepts false, true and a mode name.
func (g *Gated) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		*g = Gated(v)
	case bool:
		*g = ""
		if v {
			*g = "auto"
		}
	case nil:
		*g = ""
	default:
		// Downloads must not fail over a field they do not need.
		*g = Gated(fmt.Sprint(v))
	}
	return nil
}

// Files returns the names of all files in the repo.
func (r *RepoInfo) Files() []string {
	out := make([]string, len(r.Siblings))
	for i, s := range r.Siblings {
		out[i] = s.RFilename
	}
	return out
}

// ModelInfo fetches /api/models/{repoID}/revision/{revision} (revision ""
// means "main"), as huggingface_hub's model_info does.
func (c *Client) ModelInfo(ctx context.Context, repoID, revision string) (*RepoInfo, error) {
	if revision == "" {
		revision = DefaultRevision
	}
	if err := ValidateRepoID(repoID); err != nil {
		return nil, err
	}
	if err := checkRevision(repoID, revision); err != nil {
		return nil, err
	}
	if c.offline {
		return nil, &Error{Kind: ErrNotCached, Op: "model info", RepoID: repoID, Revision: revision, CacheDir: c.cacheDir, Offline: true}
	}
	// The answer lists every file, so it may take longer than a HEAD.
	ctx, cancel := context.WithTimeout(ctx, max(3*c.etagTimeout, 30*time.Second))
	defer cancel()
	u := fmt.Sprintf("%s/api/models/%s/revision/%s", c.endpoint, repoID, url.PathEscape(revision))
	req, err := c.newRequest(ctx, http.MethodGet, u, true)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.httpError(resp, &Error{Op: "model info", RepoID: repoID, Revision: revision})
	}
	defer resp.Body.Close()
	var info RepoInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return nil, &Error{Kind: ErrHTTP, Op: "model info", RepoID: repoID, Revision: revision, URL: u, Err: fmt.Errorf("decoding answer: %w", err)}
	}
	if !IsCommitHash(info.SHA) {
		return nil, &Error{Kind: ErrHTTP, Op: "model info", RepoID: repoID, Revision: revision, URL: u, Err: fmt.Errorf("answer has no commit sha (got %q)", info.SHA)}
	}
	return &info, nil
}

// SnapshotOptions tune [Client.Snapshot]. The zero value fetches every file
// of "main".
type SnapshotOptions struct {
	// Revision is a branch, tag or commit hash; "" means "main".
	Revision string
	// AllowPatterns keeps only files matching one of these shell patterns
	// (Python fnmatch rules: '*' matches '/' too; "dir/" means the folder).
	// Empty means all files.
	AllowPatterns []string
	// IgnorePatterns drops files matching one of these patterns.
	IgnorePatterns []string
	// Force re-downloads files even when they are cached.
	Force bool
}

// Snapshot returns the local snapshot folder of a repo revision with the
// selected files in it, downloading what is missing, like huggingface_hub's
// snapshot_download. The file list and commit come from the /api/models
// endpoint; files are fetched by commit hash so that one snapshot is never a
// mix of two commits. repoID may be a local folder, returned as is.
//
// When the Hub cannot be reached the cached snapshot of the revision is
// returned if it exists (its completeness cannot be checked, as in Python).
func (c *Client) Snapshot(ctx context.Context, repoID string, opts SnapshotOptions) (string, error) {
	if local, err := isLocalPath(repoID); err != nil {
		return "", err
	} else if local {
		return repoID, nil
	}
	rev := opts.Revision
	if rev == "" {
		rev = DefaultRevision
	}
	if err := ValidateRepoID(repoID); err != nil {
		return "", err
	}
	if err := checkRevision(repoID, rev); err != nil {
		return "", err
	}
	storage := c.RepoDir(repoID)
	info, apiErr := c.ModelInfo(ctx, repoID, rev)
	if apiErr != nil {
		var he *Error
		if errors.As(apiErr, &he) {
			he.Op = "snapshot"
		}
		if he != nil && (he.Kind == ErrRevisionNotFound || he.Kind == ErrInvalid) {
			return "", apiErr
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if commit, ok := commitFor(storage, rev); ok {
			if dir := filepath.Join(storage, "snapshots", commit); exists(dir) {
				return dir, nil
			}
		}
		if he != nil && he.Offline {
			apiErr = errOffline
		}
		return "", c.fallbackError("snapshot", repoID, rev, "", apiErr)
	}

	snapshot := filepath.Join(storage, "snapshots", info.SHA)
	if err := writeRef(storage, rev, info.SHA); err != nil {
		return "", err
	}
	files := filterFiles(info.Files(), opts.AllowPatterns, opts.IgnorePatterns)
	prog := c.newProgress(fmt.Sprintf("%s (%d files)", repoID, len(files)))
	defer prog.finish()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range min(c.maxWorkers, max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range jobs {
				_, err := c.download(ctx, repoID, name, DownloadOptions{Revision: info.SHA, Force: opts.Force}, prog)
				if err != nil {
					cancel(err)
				}
			}
		}()
	}
	for _, name := range files {
		select {
		case jobs <- name:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return "", err
	}
	// A filter that matches nothing still yields a valid (empty) snapshot.
	if err := os.MkdirAll(snapshot, 0o755); err != nil {
		return "", err
	}
	return snapshot, nil
}
