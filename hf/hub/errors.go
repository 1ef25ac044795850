package hub

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors, to test with errors.Is. Every error the client returns for
// a Hub or cache failure is an [*Error] wrapping one of them.
var (
	// ErrRepoNotFound: the repository does not exist, or it is private and the
	// token (if any) cannot read it; the Hub does not tell the two apart.
	ErrRepoNotFound = errors.New("repository not found")
	// ErrGatedRepo: the repository is gated and the token's account has not
	// been granted access (or no token was sent).
	ErrGatedRepo = errors.New("gated repository")
	// ErrRevisionNotFound: the branch, tag or commit does not exist.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrEntryNotFound: the file does not exist at that revision.
	ErrEntryNotFound = errors.New("file not found")
	// ErrUnauthorized: the Hub rejected the token itself.
	ErrUnauthorized = errors.New("invalid credentials")
	// ErrNotCached: the file or snapshot is not in the local cache and the Hub
	// could not be asked (offline mode, or the network or Hub is down).
	ErrNotCached = errors.New("not in the local cache")
	// ErrHTTP: any other unexpected HTTP answer (5xx, 400, ...).
	ErrHTTP = errors.New("unexpected HTTP response")
	// ErrInvalid: a malformed repo id or filename, or a missing local folder.
	ErrInvalid = errors.New("invalid argument")
)

// Error describes a failed Hub or cache operation. Kind is one of the
// sentinel errors above; Err, when set, is the underlying cause.
type Error struct {
	// Kind is the sentinel this error wraps.
	Kind error
	// Op is what was being done: "download", "snapshot", "model info",
	// "metadata" or "cache lookup".
	Op string
	// RepoID, Revision and Filename say what was asked for.
	RepoID   string
	Revision string
	Filename string
	// StatusCode is the HTTP status, 0 when no answer was involved.
	StatusCode int
	// ServerMsg is the Hub's X-Error-Message (or the start of the body).
	ServerMsg string
	// RequestID is the Hub's X-Request-Id, for bug reports to Hugging Face.
	RequestID string
	// URL is the request that failed.
	URL string
	// CacheDir is the cache folder that was looked into, for ErrNotCached.
	CacheDir string
	// Endpoint is the Hub the client talks to.
	Endpoint string
	// TokenSent tells whether the failed request carried a token.
	TokenSent bool
	// Offline is set when ErrNotCached is due to offline mode.
	Offline bool
	// Err is the underlying cause, if any (a network error, say).
	Err error

	commit string // X-Repo-Commit of the failed answer, to record a missing file
}

// Error explains the failure and what the user can do about it.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hub: ")
	if e.Op != "" {
		b.WriteString(e.Op + " ")
	}
	b.WriteString(e.what())
	b.WriteString(": ")
	switch e.Kind {
	case ErrRepoNotFound:
		b.WriteString("repository not found")
		b.WriteString(e.status())
		if e.TokenSent {
			b.WriteString("; check the repo id, and that the token in HF_TOKEN (or the token file) belongs to an account that can read this repository if it is private")
		} else {
			b.WriteString("; check the repo id; if the repository is private, set HF_TOKEN (or run `hf auth login`) to a token that can read it")
		}
	case ErrGatedRepo:
		fmt.Fprintf(&b, "repository is gated%s; ", e.status())
		if e.TokenSent {
			fmt.Fprintf(&b, "the token's account has not been granted access: accept the conditions at %s/%s and retry", e.Endpoint, e.RepoID)
		} else {
			fmt.Fprintf(&b, "accept the conditions at %s/%s, then set HF_TOKEN (or run `hf auth login`) to a token of that account", e.Endpoint, e.RepoID)
		}
	case ErrRevisionNotFound:
		fmt.Fprintf(&b, "revision %q not found%s; check the branch, tag or commit hash", e.Revision, e.status())
	case ErrEntryNotFound:
		fmt.Fprintf(&b, "file %q not found", e.Filename)
		if e.Revision != "" {
			fmt.Fprintf(&b, " at revision %q", e.Revision)
		}
		b.WriteString(e.status() + "; check the file name (names are case-sensitive)")
	case ErrUnauthorized:
		fmt.Fprintf(&b, "the Hub rejected the token%s; fix or unset HF_TOKEN (or the token file at $HF_HOME/token)", e.status())
	case ErrNotCached:
		fmt.Fprintf(&b, "not found in the cache %s", e.CacheDir)
		switch {
		case e.Offline:
			b.WriteString(" and offline mode is on (HF_HUB_OFFLINE=1 or WithOffline); run once with the Hub reachable, or unset HF_HUB_OFFLINE")
		case e.Err != nil:
			b.WriteString(" and the Hub could not be reached or gave an unusable answer (below); check your connection and HF_ENDPOINT")
		}
	default:
		if e.Kind != nil {
			b.WriteString(e.Kind.Error())
		}
		b.WriteString(e.status())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) what() string {
	s := e.RepoID
	if e.Revision != "" {
		s += "@" + e.Revision
	}
	if e.Filename != "" {
		s += " " + e.Filename
	}
	return s
}

func (e *Error) status() string {
	var parts []string
	if e.StatusCode != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", e.StatusCode))
	}
	if e.ServerMsg != "" {
		parts = append(parts, fmt.Sprintf("%q", e.ServerMsg))
	}
	if e.RequestID != "" {
		parts = append(parts, "request id "+e.RequestID)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// classify maps a failed Hub answer to a kind, reading the X-Error-Code header
// first exactly as huggingface_hub's hf_raise_for_status does.
func classify(resp *http.Response) error {
	code := resp.Header.Get("X-Error-Code")
	msg := resp.Header.Get("X-Error-Message")
	switch {
	case code == "RevisionNotFound":
		return ErrRevisionNotFound
	case code == "EntryNotFound":
		return ErrEntryNotFound
	case code == "GatedRepo":
		return ErrGatedRepo
	case code == "RepoNotFound":
		return ErrRepoNotFound
	case resp.StatusCode == http.StatusUnauthorized && msg == "Invalid credentials in Authorization header":
		return ErrUnauthorized
	case resp.StatusCode == http.StatusUnauthorized:
		// The Hub answers 401 for missing, private and gated repos alike when
		// no token is sent; huggingface_hub calls that RepositoryNotFound too.
		return ErrRepoNotFound
	}
	return ErrHTTP
}
