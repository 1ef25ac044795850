// Package hubtest runs a fake Hugging Face Hub over HTTP for tests, speaking
// the same protocol as huggingface.co as far as huggingface_hub and
// hf/hub use it, so that both can be pointed at it (HF_ENDPOINT):
//
//   - GET /api/models/{id}[/revision/{rev}]: model info with "sha" and
//     "siblings";
//   - HEAD and GET /{id}/resolve/{rev}/{file}: X-Repo-Commit, ETag, and for
//     LFS files a 302 to a separate CDN host with X-Linked-Etag (the sha256)
//     and X-Linked-Size;
//   - errors with the Hub's X-Error-Code / X-Error-Message headers:
//     RepoNotFound (401 without a token, 404 with one), GatedRepo (401/403),
//     RevisionNotFound, EntryNotFound, and 401 "Invalid credentials in
//     Authorization header" for an unknown token;
//   - single Range requests (206, 416);
//   - a renamed repo answering with a relative 307.
//
// Test knobs: several commits per repo with branches and tags, private and
// gated repos with per-token grants, cutting a download midway, slowing
// bodies down, answers that lie about the commit, and a log of every request.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake Hub plus a fake CDN. Its methods are safe for concurrent
// use, also while requests are being served.
type Server struct {
	// URL is the Hub endpoint, for HF_ENDPOINT or hub.WithEndpoint.
	URL string
	// CDNURL is the host LFS files are redirected to.
	CDNURL string

	hub, cdn *httptest.Server

	mu          sync.Mutex
	repos       map[string]*Repo
	renames     map[string]string
	tokens      map[string]bool
	blobs       map[string][]byte // sha256 → content, what the CDN serves
	blobNames   map[string]string // sha256 → a file name, to match Cut
	log         []Request
	cuts        map[string][]int64
	chunk       int
	delay       time.Duration
	relativeCDN bool
	fakeCommit  string
	seq         int
}

// Request is one request the server saw.
type Request struct {
	// Host is "hub" or "cdn".
	Host   string
	Method string
	// Path is the escaped URL path.
	Path  string
	Range string
	// Auth is the Authorization header.
	Auth string
}

// Repo is a model repository on the fake Hub.
type Repo struct {
	s        *Server
	id       string
	private  bool
	gated    bool
	granted  map[string]bool
	branches map[string]string
	tags     map[string]string
	commits  map[string]*commit
}

type commit struct {
	sha   string
	files map[string]*file
}

type file struct {
	data   []byte
	lfs    bool
	oid    string // git blob id of what git stores (the pointer for LFS)
	sha256 string
}

// New starts a fake Hub and its CDN on loopback ports. Close it when done.
func New() *Server {
	s := &Server{
		repos:     map[string]*Repo{},
		renames:   map[string]string{},
		tokens:    map[string]bool{},
		blobs:     map[string][]byte{},
		blobNames: map[string]string{},
		cuts:      map[string][]int64{},
	}
	s.hub = httptest.NewServer(http.HandlerFunc(s.serveHub))
	s.cdn = httptest.NewServer(http.HandlerFunc(s.serveCDN))
	s.URL, s.CDNURL = s.hub.URL, s.cdn.URL
	return s
}

// Close shuts both servers down; later requests fail to connect, which is
// how tests simulate a Hub that cannot be reached.
func (s *Server) Close() {
	s.hub.CloseClientConnections()
	s.cdn.CloseClientConnections()
	s.hub.Close()
	s.cdn.Close()
}

// Repo returns the repo with this id, creating it (empty, public) if needed.
func (s *Server) Repo(id string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[id]
	if !ok {
		r = &Repo{s: s, id: id, granted: map[string]bool{}, branches: map[string]string{}, tags: map[string]string{}, commits: map[string]*commit{}}
		s.repos[id] = r
	}
	return r
}

// AddToken registers a valid token that has no special access.
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = true
}

// AddFolder commits every regular file under dir (following symlinks, so a
// cache snapshot folder works) to the main branch of repo id and returns the
// commit hash: the way other packages' tests put a model on the fake Hub.
func (s *Server) AddFolder(id, dir string) (string, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return "", err
	}
	return s.Repo(id).Commit("main", files), nil
}

// Rename moves repo from to the id to: requests for the old id get a
// relative 307 redirect, as the Hub answers for a renamed repository.
func (s *Server) Rename(from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.repos[from]; ok {
		delete(s.repos, from)
		r.id = to
		s.repos[to] = r
	}
	s.renames[from] = to
}

// Cut makes the next GET of filename (on the Hub or, for an LFS file, the
// CDN) send only the first after bytes of its body and then drop the
// connection. Several calls queue several cuts.
func (s *Server) Cut(filename string, after int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cuts[filename] = append(s.cuts[filename], after)
}

// SetThrottle makes file bodies go out chunk bytes at a time with delay
// between chunks (chunk 0: no throttling), so that concurrent downloads
// overlap.
func (s *Server) SetThrottle(chunk int, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunk, s.delay = chunk, delay
}

// SetRelativeCDN makes LFS redirects point to a path on the Hub's own host
// with a relative Location, instead of to the CDN host.
func (s *Server) SetRelativeCDN(relative bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.relativeCDN = relative
}

// SetFakeCommit makes every answer name commit as the commit a revision
// resolved to (the X-Repo-Commit header and the API's "sha"), whatever it
// really is, as a broken or hostile endpoint might; files are still served
// from the true commit. "" goes back to the truth.
func (s *Server) SetFakeCommit(commit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fakeCommit = commit
}

// commitName is what answers give as the commit sha. The caller holds s.mu.
func (s *Server) commitName(c *commit) string {
	if s.fakeCommit != "" {
		return s.fakeCommit
	}
	return c.sha
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Count returns how many logged requests had this method and a path
// containing substr.
func (s *Server) Count(method, substr string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && strings.Contains(r.Path, substr) {
			n++
		}
	}
	return n
}

// ID returns the repo id.
func (r *Repo) ID() string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.id
}

// SetPrivate makes the repo visible only to granted tokens; others get the
// same answer as for a missing repo, as on the Hub.
func (r *Repo) SetPrivate(private bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.private = private
}

// SetGated makes the repo require a granted token for files.
func (r *Repo) SetGated(gated bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.gated = gated
}

// Grant registers token (if new) and gives it access to the repo.
func (r *Repo) Grant(token string) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.tokens[token] = true
	r.granted[token] = true
}

// isLFS follows the Hub's default .gitattributes: weights and archives go to
// LFS, and so does anything over 10 MB.
func isLFS(name string, size int) bool {
	switch path.Ext(name) {
	case ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".h5", ".msgpack", ".model", ".zip", ".gz", ".npy", ".pkl":
		return true
	}
	return size > 10<<20
}

func gitOID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Commit makes a new commit on branch holding its parent's files with files
// laid over them (a nil value deletes a file), moves the branch to it and
// returns its hash. A new branch starts from main.
func (r *Repo) Commit(branch string, files map[string][]byte) string {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := r.branches[branch]
	if parent == "" {
		parent = r.branches["main"]
	}
	next := map[string]*file{}
	if p := r.commits[parent]; p != nil {
		for k, v := range p.files {
			next[k] = v
		}
	}
	for name, data := range files {
		if data == nil {
			delete(next, name)
			continue
		}
		sum := sha256.Sum256(data)
		f := &file{data: data, lfs: isLFS(name, len(data)), sha256: hex.EncodeToString(sum[:])}
		f.oid = gitOID(data)
		if f.lfs {
			f.oid = gitOID([]byte(fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", f.sha256, len(data))))
			s.blobs[f.sha256] = data
			s.blobNames[f.sha256] = name
		}
		next[name] = f
	}
	s.seq++
	h := sha1.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%d\n", r.id, parent, branch, s.seq)
	names := make([]string, 0, len(next))
	for k := range next {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(h, "%s %s\n", next[k].oid, k)
	}
	sha := hex.EncodeToString(h.Sum(nil))
	r.commits[sha] = &commit{sha: sha, files: next}
	r.branches[branch] = sha
	return sha
}

// Tag points tag at the commit revision resolves to.
func (r *Repo) Tag(tag, revision string) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if c := r.resolve(revision); c != nil {
		r.tags[tag] = c.sha
	}
}

// Head returns the commit a branch or tag points to ("" if none).
func (r *Repo) Head(revision string) string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if c := r.resolve(revision); c != nil {
		return c.sha
	}
	return ""
}

// ETag returns the cache blob name of a file at a revision: its sha256 for
// an LFS file, its git blob id otherwise ("" if missing).
func (r *Repo) ETag(revision, name string) string {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if c := r.resolve(revision); c != nil {
		if f := c.files[name]; f != nil {
			if f.lfs {
				return f.sha256
			}
			return f.oid
		}
	}
	return ""
}

// resolve maps a branch, tag, full hash or unique prefix of at least 7 hex
// digits to a commit. The caller holds s.mu.
func (r *Repo) resolve(rev string) *commit {
	if sha, ok := r.branches[rev]; ok {
		return r.commits[sha]
	}
	if sha, ok := r.tags[rev]; ok {
		return r.commits[sha]
	}
	if c, ok := r.commits[rev]; ok {
		return c
	}
	if len(rev) >= 7 {
		var found *commit
		for sha, c := range r.commits {
			if strings.HasPrefix(sha, rev) {
				if found != nil {
					return nil
				}
				found = c
			}
		}
		return found
	}
	return nil
}

func (s *Server) record(host string, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, Request{Host: host, Method: r.Method, Path: r.URL.EscapedPath(), Range: r.Header.Get("Range"), Auth: r.Header.Get("Authorization")})
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// access checks the token against the repo as the Hub does. The caller
// holds s.mu; ok=false means an error answer was written.
func (s *Server) access(w http.ResponseWriter, r *http.Request, id string) (*Repo, bool) {
	auth := r.Header.Get("Authorization")
	token := strings.TrimPrefix(auth, "Bearer ")
	if auth != "" && !s.tokens[token] {
		hubError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return nil, false
	}
	repo := s.repos[id]
	if repo == nil || repo.private && !repo.granted[token] {
		status := http.StatusUnauthorized
		if auth != "" {
			status = http.StatusNotFound
		}
		hubError(w, status, "RepoNotFound", "Repository not found")
		return nil, false
	}
	if repo.gated && !repo.granted[token] {
		status := http.StatusUnauthorized
		if auth != "" {
			status = http.StatusForbidden
		}
		hubError(w, status, "GatedRepo", fmt.Sprintf("Access to model %s is restricted. You must have access to it and be authenticated to access it. Please log in.", id))
		return nil, false
	}
	return repo, true
}

func unescapeAll(segs []string) ([]string, bool) {
	out := make([]string, len(segs))
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		out[i] = u
	}
	return out, true
}

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	s.record("hub", r)
	w.Header().Set("X-Request-Id", fmt.Sprintf("Root=fake-%d", time.Now().UnixNano()))
	// The escaped path keeps a revision like refs%2Fpr%2F1 in one segment.
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	switch {
	case len(segs) >= 3 && segs[0] == "api" && segs[1] == "models":
		s.serveAPI(w, r, segs[2:])
	case len(segs) >= 2 && segs[0] == "cdn-lfs":
		s.serveBlob(w, r, segs[1])
	default:
		for k := 1; k <= 2 && k < len(segs); k++ {
			if segs[k] == "resolve" && len(segs) >= k+3 {
				s.serveResolve(w, r, segs[:k], segs[k+1], segs[k+2:])
				return
			}
		}
		http.NotFound(w, r)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, segs []string) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rev := "main"
	idSegs := segs
	for i, sg := range segs {
		if sg == "revision" && i+1 < len(segs) {
			idSegs, rev = segs[:i], segs[i+1]
			break
		}
	}
	parts, ok := unescapeAll(append(append([]string{}, idSegs...), rev))
	if !ok {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	id, rev := strings.Join(parts[:len(parts)-1], "/"), parts[len(parts)-1]
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, ok := s.access(w, r, id)
	if !ok {
		return
	}
	c := repo.resolve(rev)
	if c == nil {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	names := make([]string, 0, len(c.files))
	for k := range c.files {
		names = append(names, k)
	}
	sort.Strings(names)
	siblings := make([]map[string]string, len(names))
	for i, n := range names {
		siblings[i] = map[string]string{"rfilename": n}
	}
	var gated any = false
	if repo.gated {
		gated = "manual"
	}
	author, _, _ := strings.Cut(id, "/")
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Format("2006-01-02T15:04:05.000Z")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"_id": "fake" + c.sha[:20], "id": id, "modelId": id, "author": author, "sha": s.commitName(c),
		"lastModified": now, "createdAt": now, "private": repo.private, "gated": gated, "disabled": false,
		"downloads": 0, "likes": 0, "library_name": "transformers", "tags": []string{"transformers"},
		"siblings": siblings,
	})
}

func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request, idSegs []string, revSeg string, fileSegs []string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	parts, ok := unescapeAll(append(append(append([]string{}, idSegs...), revSeg), fileSegs...))
	if !ok {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	id := strings.Join(parts[:len(idSegs)], "/")
	rev := parts[len(idSegs)]
	name := strings.Join(parts[len(idSegs)+1:], "/")

	s.mu.Lock()
	if to, ok := s.renames[id]; ok {
		s.mu.Unlock()
		w.Header().Set("Location", "/"+to+"/resolve/"+revSeg+"/"+strings.Join(fileSegs, "/"))
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	repo, ok := s.access(w, r, id)
	if !ok {
		s.mu.Unlock()
		return
	}
	c := repo.resolve(rev)
	if c == nil {
		s.mu.Unlock()
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	f := c.files[name]
	relativeCDN := s.relativeCDN
	sha := s.commitName(c)
	s.mu.Unlock()

	h := w.Header()
	h.Set("X-Repo-Commit", sha)
	if f == nil {
		hubError(w, http.StatusNotFound, "EntryNotFound", name+" does not exist on \""+rev+"\"")
		return
	}
	h.Set("ETag", `"`+f.oid+`"`)
	if f.lfs {
		h.Set("X-Linked-Etag", `"`+f.sha256+`"`)
		h.Set("X-Linked-Size", strconv.Itoa(len(f.data)))
		loc := s.CDNURL + "/repos/" + f.sha256 + "?X-Amz-Signature=fake&response-content-disposition=" + url.QueryEscape(`inline; filename="`+path.Base(name)+`";`)
		if relativeCDN {
			loc = "/cdn-lfs/" + f.sha256 + "?sig=fake"
		}
		h.Set("Location", loc)
		w.WriteHeader(http.StatusFound)
		return
	}
	s.serveBytes(w, r, f.data, name)
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	s.record("cdn", r)
	// A pre-signed URL carries its own credentials; like S3, refuse a second
	// set, so a client that leaks the Hub token to the CDN fails loudly.
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "Only one auth mechanism allowed", http.StatusBadRequest)
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(segs) != 2 || segs[0] != "repos" {
		http.NotFound(w, r)
		return
	}
	s.serveBlob(w, r, segs[1])
}

func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, sha string) {
	s.mu.Lock()
	data, ok := s.blobs[sha]
	name := s.blobNames[sha]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", `"`+sha+`"`)
	s.serveBytes(w, r, data, name)
}

// serveBytes answers GET/HEAD with data, honouring one "bytes=a-[b]" range,
// the throttle and any pending cut for name.
func (s *Server) serveBytes(w http.ResponseWriter, r *http.Request, data []byte, name string) {
	start, end := 0, len(data)
	status := http.StatusOK
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "application/octet-stream")
	if rg := r.Header.Get("Range"); rg != "" {
		a, b, ok := parseRange(rg, len(data))
		if !ok {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start, end, status = a, b, http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b-1, len(data)))
	}
	h.Set("Content-Length", strconv.Itoa(end-start))
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	s.mu.Lock()
	cut := int64(-1)
	if q := s.cuts[name]; len(q) > 0 {
		cut, s.cuts[name] = q[0], q[1:]
	}
	chunk, delay := s.chunk, s.delay
	s.mu.Unlock()
	w.WriteHeader(status)
	body := data[start:end]
	if chunk <= 0 {
		chunk = len(body)
	}
	flusher, _ := w.(http.Flusher)
	var sent int64
	for len(body) > 0 {
		n := min(chunk, len(body))
		if cut >= 0 && sent+int64(n) > cut {
			n = int(cut - sent)
		}
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
		body, sent = body[n:], sent+int64(n)
		if cut >= 0 && sent >= cut {
			if flusher != nil {
				flusher.Flush()
			}
			// Aborting the handler closes the connection short of the
			// announced Content-Length: the client sees a truncated body.
			panic(http.ErrAbortHandler)
		}
		if delay > 0 && len(body) > 0 {
			if flusher != nil {
				flusher.Flush()
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(delay):
			}
		}
	}
}

func parseRange(rg string, size int) (start, end int, ok bool) {
	spec, found := strings.CutPrefix(rg, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, _ := strings.Cut(spec, "-")
	if a == "" { // suffix range: the last b bytes
		n, err := strconv.Atoi(b)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size, true
	}
	start, err := strconv.Atoi(a)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end = size
	if b != "" {
		e, err := strconv.Atoi(b)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e+1, size)
	}
	return start, end, true
}
