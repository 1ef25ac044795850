// Package hub downloads files from the Hugging Face Hub into the same cache
// huggingface_hub (Python) uses, so that hfpipe and Python share downloads.
//
// The cache layout is huggingface_hub's, under $HF_HUB_CACHE (default
// $HF_HOME/hub, default ~/.cache/huggingface/hub):
//
//	models--{org}--{name}/
//	    blobs/{etag}                       file contents (sha256 for LFS files)
//	    refs/{branch or tag}               the commit it pointed to
//	    snapshots/{commit}/{file}          relative symlink to ../../blobs/{etag}
//	    .no_exist/{commit}/{file}          marker: the file does not exist there
//	.locks/models--{org}--{name}/{etag}.lock
//
// [Client.Download] is hf_hub_download and [Client.Snapshot] is
// snapshot_download: the same HTTP calls (/api/models/{id}/revision/{rev},
// HEAD then GET on /{id}/resolve/{rev}/{file}), the same headers
// (X-Repo-Commit, ETag / X-Linked-Etag, X-Linked-Size, Authorization:
// Bearer), the same fallback to the cache when the Hub cannot be reached,
// and the same environment variables (HF_HOME, HF_HUB_CACHE,
// HUGGINGFACE_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, HF_TOKEN_PATH,
// HF_HUB_OFFLINE, HF_HUB_DISABLE_PROGRESS_BARS, HF_HUB_ETAG_TIMEOUT,
// HF_HUB_DOWNLOAD_TIMEOUT).
//
// Downloads go to blobs/{etag}.incomplete and are renamed into place, so a
// reader never sees half a file; an interrupted download is resumed with a
// Range request, by the same call (up to [WithRetries] times) or by the next
// one, from Go or Python. A flock on the .locks file, the lock Python's
// filelock takes, keeps two processes or goroutines from fetching the same
// blob at once. LFS blobs are checked against their sha256.
//
// Values that become cache paths are checked first, so that neither the
// server nor a hand-edited cache can lead a read or write outside the cache
// folder: the commit the server names (X-Repo-Commit, the API's "sha") must
// be a full commit hash, the ETag a plain name, a refs/ file must hold a
// commit hash (anything else counts as no ref), and a revision may not
// have "", "." or ".." parts, backslashes or control characters.
//
// Failures are [*Error] values wrapping a sentinel ([ErrRepoNotFound],
// [ErrGatedRepo], [ErrRevisionNotFound], [ErrEntryNotFound],
// [ErrUnauthorized], [ErrNotCached], ...) whose message says what to do.
//
// Package hubtest provides a fake Hub for tests.
package hub
