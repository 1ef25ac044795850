package tokenizer

import (
	"fmt"

	"github.com/hfpipe/hfpipe/hf/tokenizer/internal/model"
	"math"
	"sync"
)

// Unlimited is what [Tokenizer.ModelMaxLength] returns when the tokenizer
// files give no model_max_length (transformers then uses int(1e30) and
// ignores truncation or max-length padding that relies on it).
const Unlimited = math.MaxInt

// normConfig is the BertNormalizer of tokenizer.json, with strip_accents
// already resolved (null follows lowercase).
type normConfig struct {
	enabled bool
	clean   bool
	chinese bool
	strip   bool
	lower   bool
}

// addedToken is one entry of tokenizer.json's added_tokens.
type addedToken struct {
	content    string
	id         int64
	special    bool
	normalized bool
	lstrip     bool
	rstrip     bool
	singleWord bool
}

// piece is one element of a post-processing template: a special token
// (ids non-nil) or sequence A/B.
type piece struct {
	seq    int // 0 = A, 1 = B, -1 = special token
	typeID int64
	ids    []int64
	tokens []string
}

// SpecialToken is one special token role of the tokenizer; ID is -1 when the
// tokenizer does not define the role or its token is not in the vocabulary.
type SpecialToken struct {
	Token string
	ID    int64
}

// SpecialTokens lists the BERT special token roles.
type SpecialTokens struct {
	PAD, UNK, CLS, SEP, MASK SpecialToken
}

// Tokenizer is a loaded BERT WordPiece tokenizer. It is immutable and safe
// for concurrent use; build it with [FromFile] or [FromFolder].
type Tokenizer struct {
	vocab        map[string]int64
	idToToken    []string
	hasID        []bool
	vocabSize    int // distinct tokens, model plus added
	unkID        int64
	unkToken     string
	prefix       string
	maxWordChars int
	maxKeyLen    int // longest vocabulary entry in bytes: longer candidates cannot match

	norm   normConfig
	pretok bool
	tab    *charTables

	added         []addedToken
	addedByID     map[int64]*addedToken
	specialSet    map[string]bool
	rawMatcher    *matcher // tokens matched on the raw text (normalized=false)
	normMatcher   *matcher // tokens matched on normalized text
	single, pair  []piece
	addedSingle   int
	addedPair     int
	decodeWP      bool
	decodePrefix  string
	decodeCleanup bool
	cleanUpSpaces bool

	modelMaxLength int
	padSide        Side
	truncSide      Side
	padToken       string
	padID          int64
	padTypeID      int64
	hasPad         bool
	specials       SpecialTokens

	gen *pipeline // the generic pipeline; nil for BERT WordPiece files

	pool   sync.Pool // *scratch
	blocks sync.Pool // *rowBuf arena blocks of batch encodes
}

// ModelMaxLength is the tokenizer_config.json model_max_length (512 for
// DistilBERT): the MaxLength truncation and max-length padding use when
// [Options.MaxLength] is 0. It is [Unlimited] when the files give none.
func (t *Tokenizer) ModelMaxLength() int { return t.modelMaxLength }

// VocabSize is the number of distinct tokens, WordPiece vocabulary plus
// added tokens, as len(tokenizer) in transformers.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// Specials returns the special token roles and their ids.
func (t *Tokenizer) Specials() SpecialTokens { return t.specials }

// TokenToID returns the id of a vocabulary or added token.
func (t *Tokenizer) TokenToID(token string) (int64, bool) {
	for i := range t.added {
		if t.added[i].content == token {
			return t.added[i].id, true
		}
	}
	id, ok := t.vocab[token]
	return id, ok
}

// IDToToken returns the token of an id, added tokens first, as tokenizers does.
func (t *Tokenizer) IDToToken(id int64) (string, bool) {
	if a, ok := t.addedByID[id]; ok {
		return a.content, true
	}
	if id >= 0 && id < int64(len(t.idToToken)) && t.hasID[id] {
		return t.idToToken[id], true
	}
	return "", false
}

// finish derives the lookup structures once every field from the files is
// set, and checks what encoding relies on.
func (t *Tokenizer) finish() error {
	t.tab = getTables()
	if t.gen == nil {
		unk, ok := t.vocab[t.unkToken]
		if !ok {
			return fmt.Errorf("unk_token %q is not in the vocabulary", t.unkToken)
		}
		t.unkID = unk
	}
	var maxID int64 = -1
	for tok, id := range t.vocab {
		if id < 0 {
			return fmt.Errorf("vocabulary token %q has negative id %d", tok, id)
		}
		maxID = max(maxID, id)
		t.maxKeyLen = max(t.maxKeyLen, len(tok))
	}
	if maxID >= model.MaxID {
		return fmt.Errorf("vocabulary id %d out of range (ids must be below %d)", maxID, model.MaxID)
	}
	t.idToToken = make([]string, maxID+1)
	t.hasID = make([]bool, maxID+1)
	for tok, id := range t.vocab {
		// Several tokens with one id: keep the smallest, so the choice is stable.
		if !t.hasID[id] || tok < t.idToToken[id] {
			t.idToToken[id] = tok
		}
		t.hasID[id] = true
	}
	t.addedByID = make(map[int64]*addedToken, len(t.added))
	t.specialSet = make(map[string]bool)
	union := len(t.vocab)
	var raw, norm []*addedToken
	for i := range t.added {
		a := &t.added[i]
		t.addedByID[a.id] = a
		if a.special {
			t.specialSet[a.content] = true
		}
		if _, inVocab := t.vocab[a.content]; !inVocab {
			union++
		}
		if a.normalized {
			norm = append(norm, a)
		} else {
			raw = append(raw, a)
		}
	}
	t.vocabSize = union
	t.rawMatcher = newMatcher(raw, nil)
	if len(norm) > 0 {
		pats := make([]string, len(norm))
		for i, a := range norm {
			if t.gen != nil {
				pats[i] = t.gen.normalizeString(a.content)
			} else {
				pats[i] = t.normalizeString(a.content)
			}
		}
		t.normMatcher = newMatcher(norm, pats)
	}
	t.addedSingle, t.addedPair = countSpecial(t.single), countSpecial(t.pair)
	t.specials.PAD = t.role(t.specials.PAD.Token)
	t.specials.UNK = t.role(t.specials.UNK.Token)
	t.specials.CLS = t.role(t.specials.CLS.Token)
	t.specials.SEP = t.role(t.specials.SEP.Token)
	t.specials.MASK = t.role(t.specials.MASK.Token)
	if t.padToken == "" {
		t.padToken = t.specials.PAD.Token
	}
	if id, ok := t.TokenToID(t.padToken); ok && t.padToken != "" {
		t.padID, t.hasPad = id, true
	}
	t.pool.New = func() any { return new(scratch) }
	return nil
}

func (t *Tokenizer) role(tok string) SpecialToken {
	if tok == "" {
		return SpecialToken{ID: -1}
	}
	if id, ok := t.TokenToID(tok); ok {
		return SpecialToken{Token: tok, ID: id}
	}
	return SpecialToken{Token: tok, ID: -1}
}

func countSpecial(tpl []piece) int {
	n := 0
	for _, p := range tpl {
		n += len(p.ids)
	}
	return n
}
