package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// input is one text (with an optional pair) and where it came from.
type input struct {
	Text     string  `json:"text"`
	TextPair *string `json:"text_pair,omitempty"`
	line     int
}

// readInputs takes texts from the arguments, else from --file (text lines,
// or JSON lines when the file ends in .jsonl or its lines start with '{'),
// else from stdin lines.
func readInputs(file string, args []string, stdin io.Reader) ([]input, error) {
	if len(args) > 0 {
		if file != "" {
			return nil, errors.New("give texts as arguments or with --file, not both")
		}
		out := make([]input, len(args))
		for i, a := range args {
			out[i] = input{Text: a, line: i + 1}
		}
		return out, nil
	}
	r, name := stdin, "stdin"
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("reading inputs: %w", err)
		}
		defer f.Close()
		r, name = f, file
	}
	jsonl := strings.HasSuffix(file, ".jsonl")
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var out []input
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" && !jsonl {
			continue
		}
		if jsonl || strings.HasPrefix(strings.TrimSpace(line), "{") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var in input
			if err := json.Unmarshal([]byte(line), &in); err != nil {
				return nil, fmt.Errorf("%s:%d: not a JSON object with a \"text\" field: %v", name, n, err)
			}
			in.line = n
			out = append(out, in)
			continue
		}
		out = append(out, input{Text: line, line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return out, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
