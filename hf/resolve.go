package hf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hfpipe/hfpipe/hf/hub"
	"github.com/hfpipe/hfpipe/torch"
)

// Options say where a model comes from; every Auto* loader takes them as
// functional [Option]s. The zero value means: revision "main", and a hub
// client configured from the environment (HF_ENDPOINT, HF_HUB_CACHE,
// HF_TOKEN, HF_HUB_OFFLINE, ...).
type Options struct {
	// Revision is a branch, tag or commit hash; "" means "main".
	Revision string
	// Client, when set, is used as is and HubOptions are ignored.
	Client *hub.Client
	// HubOptions configure the client built when Client is nil.
	HubOptions []hub.Option

	// Model loading (see model_options.go): the device and dtype to run on,
	// and how to make a missing TorchScript export.
	Device              torch.Device
	DType               torch.DType
	Exporter            Exporter
	AutoExport          bool
	NoAutoExport        bool
	NoTorchVersionCheck bool
	TorchScript         bool
	Attention           string
	// Fast selects fast mode's kernels (WithFast); "" is exact mode.
	Fast torch.FastKernels
	// WarmUp runs a native model once at load (WithWarmUp).
	WarmUp bool
}

// Option sets one of the [Options].
type Option func(*Options)

// WithRevision picks a branch, tag or commit hash of a Hub model.
func WithRevision(revision string) Option {
	return func(o *Options) { o.Revision = revision }
}

// WithCacheDir sets the hub cache folder (default $HF_HUB_CACHE or
// ~/.cache/huggingface/hub).
func WithCacheDir(dir string) Option {
	return func(o *Options) { o.HubOptions = append(o.HubOptions, hub.WithCacheDir(dir)) }
}

// WithToken sets the Hub access token (default $HF_TOKEN or the token file);
// "" sends none.
func WithToken(token string) Option {
	return func(o *Options) { o.HubOptions = append(o.HubOptions, hub.WithToken(token)) }
}

// WithEndpoint sets the Hub URL (default $HF_ENDPOINT or
// https://huggingface.co).
func WithEndpoint(endpoint string) Option {
	return func(o *Options) { o.HubOptions = append(o.HubOptions, hub.WithEndpoint(endpoint)) }
}

// WithOffline makes loading use the cache only, as HF_HUB_OFFLINE=1 does.
func WithOffline(offline bool) Option {
	return func(o *Options) { o.HubOptions = append(o.HubOptions, hub.WithOffline(offline)) }
}

// WithHubClient uses c for every Hub access, overriding the other hub
// options; handy to share one configured client between loaders.
func WithHubClient(c *hub.Client) Option {
	return func(o *Options) { o.Client = c }
}

// NewOptions applies opts to the zero [Options].
func NewOptions(opts ...Option) *Options {
	o := &Options{}
	for _, f := range opts {
		f(o)
	}
	return o
}

// HubClient returns the client to use: Client if set, else a new one from
// the environment and HubOptions.
func (o *Options) HubClient() *hub.Client {
	if o.Client != nil {
		return o.Client
	}
	return hub.NewClient(o.HubOptions...)
}

// DefaultModelFiles returns the file patterns [ResolveModel] fetches when
// given none: the config, the tokenizer files, safetensors weights (single
// or sharded) and hfpipe's TorchScript export files ("hfpipe-*"). Patterns
// follow Python's fnmatch, as snapshot_download's allow_patterns do.
// PyTorch .bin weights are left out: ask for "pytorch_model.bin" explicitly
// for repos that have nothing else.
func DefaultModelFiles() []string {
	return []string{
		"config.json",
		"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
		"vocab.txt", "vocab.json", "merges.txt",
		"model.safetensors", "model.safetensors.index.json", "model-*-of-*.safetensors",
		"hfpipe-*",
	}
}

// ResolveModel returns a local folder holding the model idOrPath. A local
// folder is returned as is. Anything else is a Hub repo id, whose files
// matching the patterns in files (nil: [DefaultModelFiles]) are brought into
// the hub cache; the result is the snapshot folder of the resolved commit.
// Patterns that match nothing are not an error: optional files (say
// vocab.txt next to tokenizer.json) can be listed freely, and the loader
// that needs a file reports it missing.
func ResolveModel(ctx context.Context, idOrPath string, files []string, opts ...Option) (string, error) {
	if fi, err := os.Stat(idOrPath); err == nil {
		if !fi.IsDir() {
			return "", fmt.Errorf("hf: %s is a file; give the model folder or a Hub repo id", idOrPath)
		}
		return idOrPath, nil
	}
	if files == nil {
		files = DefaultModelFiles()
	}
	o := NewOptions(opts...)
	dir, err := o.HubClient().Snapshot(ctx, idOrPath, hub.SnapshotOptions{Revision: o.Revision, AllowPatterns: files})
	if err != nil {
		var he *hub.Error
		if errors.As(err, &he) {
			return "", err // already names the model and what to do
		}
		return "", fmt.Errorf("hf: resolving model %q: %w", idOrPath, err)
	}
	return dir, nil
}

// ResolveFile returns the local path of one file of the model idOrPath (a
// local folder or a Hub repo id), downloading it into the hub cache if
// needed. Unlike [ResolveModel] a missing file is an error
// (errors.Is(err, hub.ErrEntryNotFound)).
func ResolveFile(ctx context.Context, idOrPath, filename string, opts ...Option) (string, error) {
	o := NewOptions(opts...)
	p, err := o.HubClient().Download(ctx, idOrPath, filename, hub.DownloadOptions{Revision: o.Revision})
	if err != nil {
		var he *hub.Error
		if errors.As(err, &he) {
			return "", err // already names the model, file and what to do
		}
		return "", fmt.Errorf("hf: resolving %s of %q: %w", filename, idOrPath, err)
	}
	return filepath.Clean(p), nil
}
