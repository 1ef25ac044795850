package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Client talks to a Hugging Face Hub and keeps files in huggingface_hub's
// cache layout, so that Go and Python share one cache. A Client is safe for
// concurrent use; build it with [NewClient].
type Client struct {
	endpoint        string
	cacheDir        string
	token           string
	offline         bool
	http            *http.Client
	userAgent       string
	progress        io.Writer
	etagTimeout     time.Duration
	downloadTimeout time.Duration
	retries         int
	maxWorkers      int
}

// Option configures a [Client]. Options override the environment.
type Option func(*Client)

// WithEndpoint sets the Hub URL (default $HF_ENDPOINT or
// https://huggingface.co).
func WithEndpoint(endpoint string) Option {
	return func(c *Client) { c.endpoint = strings.TrimRight(endpoint, "/") }
}

// WithCacheDir sets the cache folder (default [DefaultCacheDir]).
func WithCacheDir(dir string) Option {
	return func(c *Client) { c.cacheDir = expandPath(dir) }
}

// WithToken sets the access token sent as "Authorization: Bearer"; "" sends
// none, even when HF_TOKEN is set.
func WithToken(token string) Option {
	return func(c *Client) { c.token = cleanToken(token) }
}

// WithOffline makes the client answer from the cache only, as
// HF_HUB_OFFLINE=1 does.
func WithOffline(offline bool) Option {
	return func(c *Client) { c.offline = offline }
}

// WithHTTPClient sets the HTTP client (its Transport and Jar are used; the
// Client follows redirects itself so that it can decide where the token goes).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		cp := *hc
		cp.CheckRedirect = noRedirect
		c.http = &cp
	}
}

// WithProgress sends progress bars to w (nil: none), overriding the default
// of stderr when it is a terminal. HF_HUB_DISABLE_PROGRESS_BARS still wins,
// as in huggingface_hub.
func WithProgress(w io.Writer) Option {
	return func(c *Client) { c.progress = w }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// WithRetries sets how many times a transient failure (HTTP 429/5xx, or a
// download cut midway, which resumes with a Range request) is retried before
// giving up (default 5, as huggingface_hub). 0 disables retries.
func WithRetries(n int) Option {
	return func(c *Client) { c.retries = max(n, 0) }
}

// WithTimeouts sets how long to wait for file metadata (default
// $HF_HUB_ETAG_TIMEOUT or 10s) and how long a download may stall without
// receiving a byte (default $HF_HUB_DOWNLOAD_TIMEOUT or 10s). Zero keeps the
// current value.
func WithTimeouts(metadata, stall time.Duration) Option {
	return func(c *Client) {
		if metadata > 0 {
			c.etagTimeout = metadata
		}
		if stall > 0 {
			c.downloadTimeout = stall
		}
	}
}

// WithMaxWorkers sets how many files [Client.Snapshot] downloads at once
// (default 8, as huggingface_hub).
func WithMaxWorkers(n int) Option {
	return func(c *Client) { c.maxWorkers = max(n, 1) }
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewClient returns a client configured from the environment (HF_ENDPOINT,
// HF_HOME, HF_HUB_CACHE / HUGGINGFACE_HUB_CACHE, HF_TOKEN / token file,
// HF_HUB_OFFLINE, HF_HUB_DISABLE_PROGRESS_BARS, HF_HUB_ETAG_TIMEOUT,
// HF_HUB_DOWNLOAD_TIMEOUT) and then by opts.
func NewClient(opts ...Option) *Client {
	c := &Client{
		endpoint:        EndpointFromEnv(),
		cacheDir:        DefaultCacheDir(),
		token:           TokenFromEnv(),
		offline:         OfflineFromEnv(),
		http:            &http.Client{CheckRedirect: noRedirect},
		userAgent:       fmt.Sprintf("hfpipe; go/%s", strings.TrimPrefix(runtime.Version(), "go")),
		progress:        stderrIfTerminal(),
		etagTimeout:     envSeconds("HF_HUB_ETAG_TIMEOUT", defaultEtagTimeout),
		downloadTimeout: envSeconds("HF_HUB_DOWNLOAD_TIMEOUT", defaultDownloadTimeout),
		retries:         5,
		maxWorkers:      8,
	}
	for _, o := range opts {
		o(c)
	}
	if on, set := progressFromEnv(); set {
		switch {
		case !on:
			c.progress = nil
		case c.progress == nil:
			c.progress = os.Stderr
		}
	}
	return c
}

// Endpoint returns the Hub URL the client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// CacheDir returns the cache folder.
func (c *Client) CacheDir() string { return c.cacheDir }

// Offline reports whether the client answers from the cache only.
func (c *Client) Offline() bool { return c.offline }

// HasToken reports whether requests carry a token.
func (c *Client) HasToken() bool { return c.token != "" }

// repoIDPattern is huggingface_hub's REPO_ID_REGEX; Go's \w is ASCII-only
// where Python's is Unicode, which only rejects names the Hub refuses anyway.
var repoIDPattern = regexp.MustCompile(`^(?:\b[\w\-.]+\b/)?\b[\w\-.]{1,96}\b$`)

// ValidateRepoID checks a repo id as huggingface_hub's validate_repo_id does:
// "name" or "namespace/name", letters, digits, '-', '_' and '.', no "--" or
// "..", not ending in ".git", at most 96 characters per name.
func ValidateRepoID(id string) error {
	bad := func(why string) error {
		return &Error{Kind: ErrInvalid, RepoID: id, Err: errors.New(why)}
	}
	switch {
	case id == "":
		return bad("empty repo id")
	case strings.Count(id, "/") > 1:
		return bad("repo id must be \"name\" or \"namespace/name\"")
	case !repoIDPattern.MatchString(id):
		return bad("repo id must use letters, digits, '-', '_' or '.', must not start or end with '-' or '.', and names are at most 96 characters")
	case strings.Contains(id, "--") || strings.Contains(id, ".."):
		return bad("repo id cannot contain \"--\" or \"..\"")
	case strings.HasSuffix(id, ".git"):
		return bad("repo id cannot end with \".git\"")
	}
	return nil
}

// newRequest builds a Hub request carrying the token and user agent.
// Compression is refused because the cache needs the exact byte count the
// Hub announces (huggingface_hub sends the same header).
func (c *Client) newRequest(ctx context.Context, method, u string, withToken bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept-Encoding", "identity")
	if withToken && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// send runs req, retrying 429 and 5xx answers with exponential back-off as
// huggingface_hub's http_backoff does. Connection errors are not retried:
// they mean "offline" and the caller falls back to the cache at once.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	wait := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		if !retryableStatus(resp.StatusCode) || attempt >= c.retries {
			return resp, nil
		}
		d := wait
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			d = time.Duration(s) * time.Second
		}
		drain(resp)
		if err := sleepCtx(req.Context(), min(d, 8*time.Second)); err != nil {
			return nil, err
		}
		wait *= 2
	}
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// httpError turns a failed answer into an *Error filled with what the Hub said.
func (c *Client) httpError(resp *http.Response, e *Error) *Error {
	e.Kind = classify(resp)
	e.StatusCode = resp.StatusCode
	e.ServerMsg = resp.Header.Get("X-Error-Message")
	e.RequestID = resp.Header.Get("X-Request-Id")
	e.URL = resp.Request.URL.String()
	e.Endpoint = c.endpoint
	e.TokenSent = resp.Request.Header.Get("Authorization") != ""
	e.commit = resp.Header.Get("X-Repo-Commit")
	if e.Kind == ErrHTTP && e.ServerMsg == "" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		e.ServerMsg = strings.TrimSpace(string(b))
	}
	drain(resp)
	return e
}

// resolveURL is huggingface_hub's hf_hub_url: the revision is escaped whole
// (a branch like "refs/pr/1" becomes one segment), the filename per segment.
func (c *Client) resolveURL(repoID, revision, filename string) string {
	parts := strings.Split(filename, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.endpoint, repoID, url.PathEscape(revision), strings.Join(parts, "/"))
}

// isLocalPath says whether s names a local folder rather than a repo id.
// Something that cannot be a repo id and does not exist is reported as a
// missing folder, which reads better than "invalid repo id".
func isLocalPath(s string) (bool, error) {
	if fi, err := os.Stat(s); err == nil {
		if !fi.IsDir() {
			return false, &Error{Kind: ErrInvalid, RepoID: s, Err: errors.New("is a file, not a model folder or repo id")}
		}
		return true, nil
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") ||
		strings.Contains(s, string(filepath.Separator)+string(filepath.Separator)) || strings.Count(s, "/") > 1 || filepath.IsAbs(s) {
		return false, &Error{Kind: ErrInvalid, RepoID: s, Err: errors.New("local folder does not exist (and it is not a Hub repo id)")}
	}
	return false, nil
}
