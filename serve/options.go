package serve

import (
	"context"
	"log/slog"
	"time"

	"github.com/hfpipe/hfpipe/hf/tokenizer"
)

// Defaults, as TEI's where TEI has the setting.
const (
	DefaultMaxBatchTokens        = 16384
	DefaultMaxConcurrentRequests = 512
	DefaultMaxClientBatchSize    = 32
	DefaultPayloadLimit          = 2_000_000 // bytes
	DefaultRequestTimeout        = 60 * time.Second
	DefaultReadHeaderTimeout     = 10 * time.Second
	DefaultShutdownTimeout       = 30 * time.Second
)

// Option sets one of the server's settings.
type Option func(*options)

type options struct {
	maxBatchTokens, maxConcurrent, maxClientBatch, maxBatchRequests int
	payloadLimit                                                    int64
	requestTimeout, readHeaderTimeout, shutdownTimeout              time.Duration
	autoTruncate                                                    bool
	pooling                                                         Pooling
	modelID                                                         string
	logger                                                          *slog.Logger
	// forward replaces the adapter's forward pass (tests: hold a batch).
	forward func(ctx context.Context, encs []tokenizer.Encoding) ([][]float32, error)
}

func defaults() options {
	return options{maxBatchTokens: DefaultMaxBatchTokens, maxConcurrent: DefaultMaxConcurrentRequests,
		maxClientBatch: DefaultMaxClientBatchSize, payloadLimit: DefaultPayloadLimit,
		requestTimeout: DefaultRequestTimeout, readHeaderTimeout: DefaultReadHeaderTimeout,
		shutdownTimeout: DefaultShutdownTimeout}
}

// WithMaxBatchTokens caps the tokens (unpadded) of the rows one batch takes
// from the queue (TEI's --max-batch-tokens, 16384). It must be at least the
// model's maximum input length, so that any input fits a batch.
func WithMaxBatchTokens(n int) Option { return func(o *options) { o.maxBatchTokens = n } }

// WithMaxBatchRequests caps the rows of one batch (TEI's
// --max-batch-requests; 0, the default, means only the token budget counts).
func WithMaxBatchRequests(n int) Option { return func(o *options) { o.maxBatchRequests = n } }

// WithMaxConcurrentRequests caps the inputs admitted at a time (TEI's
// --max-concurrent-requests, 512): a request whose inputs do not fit gets
// 429 at once. This is what bounds the queue, and so memory.
func WithMaxConcurrentRequests(n int) Option { return func(o *options) { o.maxConcurrent = n } }

// WithMaxClientBatchSize caps the inputs of one request (TEI's
// --max-client-batch-size, 32); more is a 422.
func WithMaxClientBatchSize(n int) Option { return func(o *options) { o.maxClientBatch = n } }

// WithPayloadLimit caps request bodies, in bytes (TEI's --payload-limit,
// 2 MB); a larger body gets 413.
func WithPayloadLimit(n int64) Option { return func(o *options) { o.payloadLimit = n } }

// WithRequestTimeout bounds one request from its arrival to its answer
// (default 60 s); a request that runs out gets 504 and leaves the queue.
func WithRequestTimeout(d time.Duration) Option { return func(o *options) { o.requestTimeout = d } }

// WithReadHeaderTimeout bounds how long HTTPServer's server waits for a
// request's headers (default 10 s), against slow clients.
func WithReadHeaderTimeout(d time.Duration) Option {
	return func(o *options) { o.readHeaderTimeout = d }
}

// WithShutdownTimeout bounds how long Serve waits, once its context ends,
// for accepted requests to be answered (default 30 s).
func WithShutdownTimeout(d time.Duration) Option { return func(o *options) { o.shutdownTimeout = d } }

// WithAutoTruncate truncates too-long inputs when a request does not say
// (TEI's --auto-truncate; off by default: a too-long input is a 422).
func WithAutoTruncate(on bool) Option { return func(o *options) { o.autoTruncate = on } }

// WithPooling sets how /embed pools token vectors (TEI's --pooling; mean
// by default). Only for feature-extraction pipelines.
func WithPooling(p Pooling) Option { return func(o *options) { o.pooling = p } }

// WithModelID sets the model_id /info reports (default: the model folder).
func WithModelID(id string) Option { return func(o *options) { o.modelID = id } }

// WithLogger sets where the server logs (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }
