package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// input is one text (with an optional pair) and where it came from.
type input struct {
	Text     string  `json:"text"`
	TextPair *string `json:"text_pair,omitempty"`
	at       string
}

// readInputs reads the default command's inputs (see readLines): a text
// line is a text, a JSON line an object with "text" and optional
// "text_pair".
func readInputs(file string, args []string, stdin io.Reader) ([]input, error) {
	lines, err := readLines(file, args, stdin)
	if err != nil {
		return nil, err
	}
	out := make([]input, len(lines))
	for i, l := range lines {
		out[i].at = l.at
		if l.text {
			out[i].Text = string(l.data)
			continue
		}
		if err := json.Unmarshal(l.data, &out[i]); err != nil {
			return nil, fmt.Errorf("%s: not a JSON object with a \"text\" field: %v", l.at, err)
		}
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
