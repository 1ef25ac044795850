package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DownloadOptions tune [Client.Download]. The zero value fetches "main".
type DownloadOptions struct {
	// Revision is a branch, tag or commit hash; "" means "main".
	Revision string
	// Force re-downloads the file even when it is cached.
	Force bool
}

// FileMetadata is what a HEAD on a file's resolve URL tells, as
// huggingface_hub's get_hf_file_metadata returns it.
type FileMetadata struct {
	// CommitHash is the commit the revision resolved to (X-Repo-Commit).
	CommitHash string
	// ETag names the blob in the cache: the sha256 of an LFS file
	// (X-Linked-Etag) or the git blob id of a regular one (ETag).
	ETag string
	// Size is the file's size in bytes (X-Linked-Size or Content-Length).
	Size int64
	// Location is where the bytes are fetched from: a CDN URL for LFS files.
	Location string
}

// normalizeETag strips the weak marker and the quotes, as _normalize_etag.
func normalizeETag(etag string) string {
	etag = strings.TrimPrefix(etag, "W/")
	return strings.Trim(etag, `"`)
}

// FileMetadata asks the Hub for a file's commit, etag, size and download
// location with a HEAD request. Like huggingface_hub it follows relative
// redirects (a renamed repo) but not absolute ones (the CDN), whose target
// becomes Location.
func (c *Client) FileMetadata(ctx context.Context, repoID, filename, revision string) (*FileMetadata, error) {
	if revision == "" {
		revision = DefaultRevision
	}
	if err := ValidateRepoID(repoID); err != nil {
		return nil, err
	}
	if err := checkRevision(repoID, revision); err != nil {
		return nil, err
	}
	if err := checkFilename(repoID, filename); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.etagTimeout)
	defer cancel()
	u := c.resolveURL(repoID, revision, filename)
	// Headers of earlier hops are kept as a fallback: a mirror that redirects
	// relatively to its own CDN path may send the metadata only on the first.
	var first http.Header
	for hops := 0; ; hops++ {
		req, err := c.newRequest(ctx, http.MethodHead, u, true)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(req)
		if err != nil {
			return nil, err
		}
		drain(resp)
		if resp.StatusCode >= 400 {
			return nil, c.httpError(resp, &Error{Op: "metadata", RepoID: repoID, Revision: revision, Filename: filename})
		}
		if first == nil {
			first = resp.Header
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			target, err := req.URL.Parse(loc)
			if err != nil {
				return nil, &Error{Kind: ErrHTTP, Op: "metadata", RepoID: repoID, Filename: filename, Err: fmt.Errorf("bad Location %q: %w", loc, err)}
			}
			if lu, _ := url.Parse(loc); lu != nil && lu.Host == "" && hops < 10 {
				u = target.String()
				continue
			}
			return metadataFrom(resp.Header, first, target.String(), repoID, revision, filename)
		}
		return metadataFrom(resp.Header, first, u, repoID, revision, filename)
	}
}

func metadataFrom(h, first http.Header, location, repoID, revision, filename string) (*FileMetadata, error) {
	get := func(k string) string {
		if v := h.Get(k); v != "" {
			return v
		}
		return first.Get(k)
	}
	m := &FileMetadata{CommitHash: get("X-Repo-Commit"), Location: location}
	m.ETag = normalizeETag(get("X-Linked-Etag"))
	if m.ETag == "" {
		m.ETag = normalizeETag(get("ETag"))
	}
	size := get("X-Linked-Size")
	if size == "" {
		size = get("Content-Length")
	}
	// ErrHTTP, not ErrInvalid: like Python's FileMetadataError this means
	// "something in between is not the Hub", and the cache may still answer.
	bad := func(why string) error {
		return &Error{Kind: ErrHTTP, Op: "metadata", RepoID: repoID, Revision: revision, Filename: filename, URL: location, Err: errors.New(why)}
	}
	switch {
	case m.CommitHash == "":
		return nil, bad("the answer has no X-Repo-Commit header: the endpoint does not look like a Hugging Face Hub (check HF_ENDPOINT, proxies and firewalls)")
	case !IsCommitHash(m.CommitHash):
		// The commit names a cache folder: anything but a hash could lead
		// outside the cache. The Hub always sends a full sha1.
		return nil, bad(fmt.Sprintf("the answer's X-Repo-Commit %q is not a commit hash (40 lower-case hex digits): the endpoint does not behave like a Hugging Face Hub (check HF_ENDPOINT, proxies and firewalls); nothing was written to the cache", m.CommitHash))
	case m.ETag == "" || strings.ContainsAny(m.ETag, `/\`) || m.ETag == "." || m.ETag == "..":
		return nil, bad("the answer has no usable ETag, so the file cannot be cached reproducibly")
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 {
		return nil, bad("the answer has no Content-Length")
	}
	m.Size = n
	return m, nil
}

// Download returns the local path of filename in the repo, fetching it into
// the cache if needed, like huggingface_hub's hf_hub_download. The path is
// snapshots/<commit>/<filename> in the repo's cache folder: a relative
// symlink to blobs/<etag>. repoID may also be a local folder, in which case
// the file is looked up there.
//
// When the Hub cannot be reached (offline mode, no network, Hub down, or an
// unauthorised answer) the cached copy for the revision is used if present.
// A missing revision or file is reported at once ([ErrRevisionNotFound],
// [ErrEntryNotFound]), as Python does.
func (c *Client) Download(ctx context.Context, repoID, filename string, opts DownloadOptions) (string, error) {
	if local, err := isLocalPath(repoID); err != nil {
		return "", err
	} else if local {
		return localFile(repoID, filename)
	}
	prog := c.newProgress(filename)
	defer prog.finish()
	return c.download(ctx, repoID, filename, opts, prog)
}

func (c *Client) download(ctx context.Context, repoID, filename string, opts DownloadOptions, prog *progress) (string, error) {
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
	if err := checkFilename(repoID, filename); err != nil {
		return "", err
	}
	storage := c.RepoDir(repoID)
	if IsCommitHash(rev) && !opts.Force {
		if p := pointerPath(storage, rev, filename); exists(p) {
			return p, nil
		}
	}

	var meta *FileMetadata
	var headErr error
	if c.offline {
		headErr = errOffline
	} else {
		meta, headErr = c.FileMetadata(ctx, repoID, filename, rev)
	}
	if headErr != nil {
		var he *Error
		if errors.As(headErr, &he) {
			he.Op = "download"
			switch he.Kind {
			case ErrRevisionNotFound, ErrInvalid:
				return "", headErr
			case ErrEntryNotFound:
				// Recording the miss lets offline callers (and Python's
				// try_to_load_from_cache) know the file does not exist.
				c.recordMissing(storage, rev, filename, he)
				return "", headErr
			}
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if !opts.Force {
			if commit, ok := commitFor(storage, rev); ok {
				if p := pointerPath(storage, commit, filename); exists(p) {
					return p, nil
				}
				if exists(filepath.Join(storage, ".no_exist", commit, filepath.FromSlash(filename))) {
					// As transformers does with the marker: a known absence is
					// not a cache miss.
					return "", &Error{Kind: ErrEntryNotFound, Op: "download", RepoID: repoID, Revision: rev, Filename: filename,
						Err: fmt.Errorf("recorded as missing at commit %s in the cache", commit)}
				}
			}
		}
		return "", c.fallbackError("download", repoID, rev, filename, headErr)
	}

	blob := filepath.Join(storage, "blobs", meta.ETag)
	pointer := pointerPath(storage, meta.CommitHash, filename)
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return "", err
	}
	if err := writeRef(storage, rev, meta.CommitHash); err != nil {
		return "", err
	}
	if !opts.Force && exists(pointer) {
		return pointer, nil
	}
	// The etag alone could collide across repos, hence the repo folder in the
	// lock path; it is huggingface_hub's path, so Python waits on us too.
	unlock, err := lockFile(ctx, filepath.Join(c.cacheDir, ".locks", RepoFolderName(repoID), meta.ETag+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if opts.Force || !exists(blob) {
		if err := c.fetchBlob(ctx, meta, blob, opts.Force, prog, repoID, filename); err != nil {
			return "", err
		}
	}
	if opts.Force || !exists(pointer) {
		if err := linkPointer(blob, pointer); err != nil {
			return "", err
		}
	}
	return pointer, nil
}

var errOffline = errors.New("offline mode is enabled")

func (c *Client) recordMissing(storage, revision, filename string, he *Error) {
	commit := he.commit
	if !IsCommitHash(commit) {
		return // none sent, or not a hash: it would name a folder
	}
	p := filepath.Join(storage, ".no_exist", commit, filepath.FromSlash(filename))
	if os.MkdirAll(filepath.Dir(p), 0o755) == nil {
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		}
	}
	_ = writeRef(storage, revision, commit)
}

// fallbackError reports a failed Hub call that the cache could not make up
// for. Auth and repo errors are the real story and stay as they are; for
// anything else the user most needs to know the cache was tried.
func (c *Client) fallbackError(op, repoID, rev, filename string, cause error) error {
	var he *Error
	if errors.As(cause, &he) {
		switch he.Kind {
		case ErrRepoNotFound, ErrGatedRepo, ErrUnauthorized:
			return cause
		}
	}
	e := &Error{Kind: ErrNotCached, Op: op, RepoID: repoID, Revision: rev, Filename: filename, CacheDir: c.cacheDir, Endpoint: c.endpoint}
	if cause == errOffline {
		e.Offline = true
	} else {
		e.Err = cause
	}
	return e
}

// sha256Pattern tells an LFS etag (the content's sha256) from a git blob id.
var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// fetchBlob downloads into blob+".incomplete" and renames it into place,
// huggingface_hub's _download_to_tmp_and_move: an existing .incomplete (ours
// or Python's) is resumed with a Range request. The caller holds the lock.
func (c *Client) fetchBlob(ctx context.Context, meta *FileMetadata, blob string, force bool, prog *progress, repoID, filename string) error {
	incomplete := blob + ".incomplete"
	if force {
		os.Remove(incomplete)
	}
	f, err := os.OpenFile(incomplete, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o666)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	have := fi.Size()
	if have > meta.Size {
		// More bytes than the file has: not a prefix of it, start over.
		if err := f.Truncate(0); err != nil {
			return err
		}
		have = 0
	}
	// An LFS etag is the sha256 of the content, so the blob can be checked;
	// a resumed file is hashed from its first byte, catching a bad prefix.
	var h hash.Hash
	if sha256Pattern.MatchString(meta.ETag) {
		h = sha256.New()
		if have > 0 {
			if _, err := io.Copy(h, io.NewSectionReader(f, 0, have)); err != nil {
				return err
			}
		}
	}
	prog.grow(meta.Size, have)

	// Same-host locations (plain files, renamed repos) keep the token; a CDN
	// URL is pre-signed and must not see it, as in huggingface_hub.
	sendToken := sameHost(meta.Location, c.endpoint)
	retries := c.retries
	for have < meta.Size {
		n, restart, err := c.getRange(ctx, meta.Location, sendToken, f, have, h, prog)
		have += n
		if restart {
			if err := f.Truncate(0); err != nil {
				return err
			}
			prog.add(-have)
			have = 0
			if h != nil {
				h.Reset()
			}
		}
		if err == nil {
			if have == meta.Size || restart {
				continue
			}
			if have > meta.Size {
				break
			}
			err = io.ErrUnexpectedEOF
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he *Error
		if errors.As(err, &he) {
			he.RepoID, he.Filename = repoID, filename
			return err
		}
		if n > 0 {
			retries = c.retries // progress was made: the link works, keep trying
		}
		if retries <= 0 {
			return &Error{Kind: ErrHTTP, Op: "download", RepoID: repoID, Filename: filename, URL: meta.Location,
				Err: fmt.Errorf("interrupted after %d of %d bytes (kept in %s; the next call resumes): %w", have, meta.Size, incomplete, err)}
		}
		retries--
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	if have != meta.Size {
		os.Remove(incomplete)
		return &Error{Kind: ErrHTTP, Op: "download", RepoID: repoID, Filename: filename, URL: meta.Location,
			Err: fmt.Errorf("consistency check failed: file should be %d bytes but is %d", meta.Size, have)}
	}
	if h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != meta.ETag {
			os.Remove(incomplete)
			return &Error{Kind: ErrHTTP, Op: "download", RepoID: repoID, Filename: filename, URL: meta.Location,
				Err: fmt.Errorf("checksum mismatch: sha256 %s, expected %s; the partial file was removed, retry", got, meta.ETag)}
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(incomplete, blob)
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host == ub.Host
}

// getRange GETs u from byte offset have and appends what arrives to f.
// restart means the server ignored the range and f must be emptied first
// (done by the caller, which then calls again).
func (c *Client) getRange(ctx context.Context, u string, sendToken bool, f *os.File, have int64, h hash.Hash, prog *progress) (n int64, restart bool, err error) {
	// The stall timer cancels the request when no byte arrives for
	// downloadTimeout: a read timeout as in requests, not a cap on the total.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errStalled := fmt.Errorf("no data for %s", c.downloadTimeout)
	stall := time.AfterFunc(c.downloadTimeout, func() { cancel(errStalled) })
	defer stall.Stop()

	var resp *http.Response
	for hops := 0; ; hops++ {
		req, err := c.newRequest(ctx, http.MethodGet, u, sendToken)
		if err != nil {
			return 0, false, err
		}
		if have > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		}
		resp, err = c.send(req)
		if err != nil {
			return 0, false, stalledOr(ctx, errStalled, err)
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" || hops >= 10 {
			break
		}
		drain(resp)
		next, err := req.URL.Parse(loc)
		if err != nil {
			return 0, false, err
		}
		sendToken = sendToken && next.Host == req.URL.Host
		u = next.String()
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		var start int64 = -1
		fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-", &start)
		if start != have {
			return 0, true, nil
		}
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			drain(resp)
			return 0, true, nil
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		drain(resp)
		return 0, true, nil
	default:
		return 0, false, c.httpError(resp, &Error{Op: "download"})
	}
	w := io.Writer(f)
	if h != nil {
		w = io.MultiWriter(f, h)
	}
	buf := make([]byte, 256<<10)
	for {
		m, rerr := resp.Body.Read(buf)
		if m > 0 {
			stall.Reset(c.downloadTimeout)
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, false, werr
			}
			n += int64(m)
			prog.add(int64(m))
		}
		if rerr == io.EOF {
			return n, false, nil
		}
		if rerr != nil {
			return n, false, stalledOr(ctx, errStalled, rerr)
		}
	}
}

func stalledOr(ctx context.Context, stalled, err error) error {
	if errors.Is(context.Cause(ctx), stalled) {
		return stalled
	}
	return err
}
