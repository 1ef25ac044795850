package weights

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// jsonWalker reads a JSON document token by token, so that duplicate keys
// (which encoding/json silently resolves to the last one) are caught, and so
// that each value is checked against the one shape it may have. Its errors
// are plain descriptions; the caller adds the file name.
type jsonWalker struct {
	dec *json.Decoder
}

func newJSONWalker(doc []byte) (*jsonWalker, error) {
	if !utf8.Valid(doc) {
		return nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	return &jsonWalker{dec: dec}, nil
}

// token returns the next token, turning a syntax error into a description.
func (w *jsonWalker) token() (json.Token, error) {
	tok, err := w.dec.Token()
	if err == io.EOF {
		return nil, errors.New("unexpected end of JSON")
	}
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	return tok, nil
}

// end checks that nothing but white space follows the document.
func (w *jsonWalker) end() error {
	if _, err := w.dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: data after the top-level object")
	}
	return nil
}

// kind names the JSON type of a token, for errors.
func kind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return "'" + t.String() + "'"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// object reads an object, calling member for each key; member must consume
// the key's value. A key seen twice is an error. If null is allowed and
// found, object returns (false, nil) without calling member.
func (w *jsonWalker) object(what string, allowNull bool, member func(key string) error) (bool, error) {
	tok, err := w.token()
	if err != nil {
		return false, err
	}
	if tok == nil && allowNull {
		return false, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return false, fmt.Errorf("%s is %s, want a JSON object", what, kind(tok))
	}
	seen := make(map[string]bool)
	for w.dec.More() {
		tok, err := w.token()
		if err != nil {
			return false, err
		}
		key, ok := tok.(string)
		if !ok { // the decoder only returns strings here, but be sure
			return false, fmt.Errorf("%s has a key that is %s", what, kind(tok))
		}
		if seen[key] {
			return false, fmt.Errorf("%s has the key %q twice", what, key)
		}
		seen[key] = true
		if err := member(key); err != nil {
			return false, err
		}
	}
	if _, err := w.token(); err != nil { // '}'
		return false, err
	}
	return true, nil
}

// array reads an array, calling elem for each element; elem must consume it.
func (w *jsonWalker) array(what string, elem func(i int) error) error {
	tok, err := w.token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("%s is %s, want a JSON array", what, kind(tok))
	}
	for i := 0; w.dec.More(); i++ {
		if err := elem(i); err != nil {
			return err
		}
	}
	_, err = w.token() // ']'
	return err
}

// str reads a string.
func (w *jsonWalker) str(what string) (string, error) {
	tok, err := w.token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%s is %s, want a string", what, kind(tok))
	}
	return s, nil
}

// count reads a non-negative integer written as plain digits (no sign,
// fraction or exponent, as Rust's usize deserializer demands) that fits an
// int64.
func (w *jsonWalker) count(what string) (int64, error) {
	tok, err := w.token()
	if err != nil {
		return 0, err
	}
	num, ok := tok.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is %s, want a non-negative integer", what, kind(tok))
	}
	s := string(num)
	if len(s) > 0 && s[0] == '-' {
		return 0, fmt.Errorf("%s is negative (%s)", what, s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%s is %s, want an integer", what, s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is %s, too large", what, s)
	}
	return n, nil
}

// skip reads and discards one value of any kind (encoding/json bounds its
// nesting depth).
func (w *jsonWalker) skip() error {
	var raw json.RawMessage
	if err := w.dec.Decode(&raw); err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	return nil
}
