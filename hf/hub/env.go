package hub

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the Hub used when HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// DefaultRevision is the revision used when none is given.
const DefaultRevision = "main"

// Defaults of huggingface_hub's constants.py, kept equal so that Go and Python
// behave alike on the same machine.
const (
	defaultEtagTimeout     = 10 * time.Second
	defaultDownloadTimeout = 10 * time.Second
)

// envTrue mirrors huggingface_hub's _is_true: only these spellings count.
func envTrue(v string) bool {
	switch strings.ToUpper(v) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

// expandPath mirrors Python's os.path.expandvars(os.path.expanduser(p)):
// unknown variables are left as written, unlike os.ExpandEnv which would
// silently drop them and point the cache somewhere unexpected.
func expandPath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = home + p[1:]
		}
	}
	if !strings.Contains(p, "$") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		if p[i] != '$' {
			b.WriteByte(p[i])
			i++
			continue
		}
		name, width := "", 0
		if i+1 < len(p) && p[i+1] == '{' {
			if end := strings.IndexByte(p[i+2:], '}'); end >= 0 {
				name, width = p[i+2:i+2+end], end+3
			}
		} else {
			j := i + 1
			for j < len(p) && (p[j] == '_' || p[j] >= '0' && p[j] <= '9' || p[j] >= 'a' && p[j] <= 'z' || p[j] >= 'A' && p[j] <= 'Z') {
				j++
			}
			name, width = p[i+1:j], j-i
		}
		if v, ok := os.LookupEnv(name); ok && name != "" {
			b.WriteString(v)
		} else if width > 0 {
			b.WriteString(p[i : i+width])
		} else {
			b.WriteByte('$')
			width = 1
		}
		i += width
	}
	return b.String()
}

// HFHome returns huggingface_hub's HF_HOME: $HF_HOME, else
// $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
func HFHome() string {
	if v, ok := os.LookupEnv("HF_HOME"); ok {
		return expandPath(v)
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		base = filepath.Join(home, ".cache")
	}
	return expandPath(filepath.Join(base, "huggingface"))
}

// DefaultCacheDir returns the hub cache folder huggingface_hub uses:
// $HF_HUB_CACHE, else the legacy $HUGGINGFACE_HUB_CACHE, else HF_HOME/hub.
func DefaultCacheDir() string {
	if v, ok := os.LookupEnv("HF_HUB_CACHE"); ok {
		return expandPath(v)
	}
	if v, ok := os.LookupEnv("HUGGINGFACE_HUB_CACHE"); ok {
		return expandPath(v)
	}
	return filepath.Join(HFHome(), "hub")
}

// tokenPath is where `hf auth login` stores the token.
func tokenPath() string {
	if v, ok := os.LookupEnv("HF_TOKEN_PATH"); ok {
		return expandPath(v)
	}
	return filepath.Join(HFHome(), "token")
}

func cleanToken(s string) string {
	s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	return strings.TrimSpace(s)
}

// TokenFromEnv returns the token huggingface_hub would send implicitly:
// $HF_TOKEN, else the legacy $HUGGING_FACE_HUB_TOKEN, else the token file
// ($HF_TOKEN_PATH or HF_HOME/token); "" when none or when
// HF_HUB_DISABLE_IMPLICIT_TOKEN is set.
func TokenFromEnv() string {
	if envTrue(os.Getenv("HF_HUB_DISABLE_IMPLICIT_TOKEN")) {
		return ""
	}
	// Python uses `or`, so an empty HF_TOKEN falls through to the next source.
	if t := cleanToken(os.Getenv("HF_TOKEN")); t != "" {
		return t
	}
	if t := cleanToken(os.Getenv("HUGGING_FACE_HUB_TOKEN")); t != "" {
		return t
	}
	b, err := os.ReadFile(tokenPath())
	if err != nil {
		return ""
	}
	return cleanToken(string(b))
}

// OfflineFromEnv reports whether HF_HUB_OFFLINE (or transformers' legacy
// TRANSFORMERS_OFFLINE) asks for cache-only operation.
func OfflineFromEnv() bool {
	// Python evaluates `HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE`: a set but empty
	// HF_HUB_OFFLINE defers to the legacy name.
	if v := os.Getenv("HF_HUB_OFFLINE"); v != "" {
		return envTrue(v)
	}
	return envTrue(os.Getenv("TRANSFORMERS_OFFLINE"))
}

// EndpointFromEnv returns $HF_ENDPOINT without trailing slashes, or
// [DefaultEndpoint].
func EndpointFromEnv() string {
	if v := os.Getenv("HF_ENDPOINT"); v != "" {
		return strings.TrimRight(v, "/")
	}
	return DefaultEndpoint
}

func envSeconds(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
			return time.Duration(n * float64(time.Second))
		}
	}
	return def
}

// progressFromEnv reads HF_HUB_DISABLE_PROGRESS_BARS as Python does: unset
// leaves the choice to the caller (ok=false); set, it wins over the code.
func progressFromEnv() (enabled, ok bool) {
	v, set := os.LookupEnv("HF_HUB_DISABLE_PROGRESS_BARS")
	if !set {
		return false, false
	}
	return !envTrue(v), true
}
