//go:build tools

package testenv

// The tests take the real uncased vocabulary from the sugarme/tokenizer
// module (see UncasedVocab); this import keeps the module in go.mod.
import _ "github.com/sugarme/tokenizer/pretrained"
