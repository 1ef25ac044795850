package hub

import (
	"regexp"
	"strings"
	"sync"
)

// fnmatch matches name against a shell pattern with Python's fnmatch rules,
// which snapshot_download's allow/ignore patterns use: unlike path.Match,
// '*' also matches '/', so "*.json" selects "sub/x.json" too.
func fnmatch(name, pattern string) bool {
	re, err := compileFnmatch(pattern)
	if err != nil {
		return false
	}
	return re.MatchString(name)
}

var fnmatchCache sync.Map // pattern → *regexp.Regexp

func compileFnmatch(pattern string) (*regexp.Regexp, error) {
	if re, ok := fnmatchCache.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(translateFnmatch(pattern))
	if err != nil {
		return nil, err
	}
	fnmatchCache.Store(pattern, re)
	return re, nil
}

// translateFnmatch is fnmatch.translate: '*', '?', '[seq]' and '[!seq]';
// an unclosed '[' is a literal.
func translateFnmatch(pat string) string {
	var b strings.Builder
	b.WriteString(`(?s:\A`)
	for i := 0; i < len(pat); {
		ch := pat[i]
		i++
		switch ch {
		case '*':
			b.WriteString(`.*`)
			for i < len(pat) && pat[i] == '*' {
				i++
			}
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i
			if j < len(pat) && pat[j] == '!' {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			for j < len(pat) && pat[j] != ']' {
				j++
			}
			if j >= len(pat) {
				b.WriteString(`\[`)
				continue
			}
			set := pat[i:j]
			i = j + 1
			neg := strings.HasPrefix(set, "!")
			if neg {
				set = set[1:]
			}
			var cls strings.Builder
			for k := 0; k < len(set); k++ {
				c := set[k]
				if c == '-' && k > 0 && k < len(set)-1 {
					cls.WriteByte('-')
					continue
				}
				if c == '\\' || c == ']' || c == '[' || c == '^' || c == '-' {
					cls.WriteByte('\\')
				}
				cls.WriteByte(c)
			}
			if neg {
				b.WriteString(`[^` + cls.String() + `]`)
			} else {
				b.WriteString(`[` + cls.String() + `]`)
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteString(`\z)`)
	return b.String()
}

// filterFiles keeps the names matching any allow pattern (all names when
// there is none) and no ignore pattern; a pattern ending in '/' means the
// whole folder, as in huggingface_hub's filter_repo_objects.
func filterFiles(names, allow, ignore []string) []string {
	dirs := func(ps []string) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			if strings.HasSuffix(p, "/") {
				p += "*"
			}
			out[i] = p
		}
		return out
	}
	allow, ignore = dirs(allow), dirs(ignore)
	var out []string
	for _, n := range names {
		if len(allow) > 0 && !anyMatch(n, allow) {
			continue
		}
		if anyMatch(n, ignore) {
			continue
		}
		out = append(out, n)
	}
	return out
}

func anyMatch(name string, patterns []string) bool {
	for _, p := range patterns {
		if fnmatch(name, p) {
			return true
		}
	}
	return false
}
