package tokenizer

import "strings"

// Decode turns ids back into text as transformers' decode does: ids without
// a token are skipped, special tokens too when skipSpecialTokens, the
// WordPiece decoder joins "##" pieces and (per token) cleans up spaces
// before punctuation, then clean_up_tokenization_spaces from
// tokenizer_config.json applies to the whole string.
func (t *Tokenizer) Decode(ids []int64, skipSpecialTokens bool) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		tok, ok := t.IDToToken(id)
		if !ok || (skipSpecialTokens && t.specialSet[tok]) {
			continue
		}
		toks = append(toks, tok)
	}
	s := t.DecodeTokens(toks)
	if t.cleanUpSpaces {
		s = cleanUpTokenization(s)
	}
	return s
}

// wordpieceCleanup is tokenizers' decoders::wordpiece::cleanup.
var wordpieceCleanupReplacer = []string{" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'", " n't", "n't", " 'm", "'m", " do not", " don't", " 's", "'s", " 've", "'ve", " 're", "'re"}

// cleanUpReplacer is transformers' clean_up_tokenization.
var cleanUpReplacer = []string{" .", ".", " ?", "?", " !", "!", " ,", ",", " ' ", "'", " n't", "n't", " 'm", "'m", " 's", "'s", " 've", "'ve", " 're", "'re"}

// The replacements run one after the other over the whole string, like
// chained str.replace calls; a strings.Replacer would do them in one pass
// and differ when one replacement creates a match for a later one.
func chainReplace(s string, pairs []string) string {
	for i := 0; i < len(pairs); i += 2 {
		if strings.Contains(s, pairs[i]) {
			s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
		}
	}
	return s
}

// DecodeTokens joins token strings with the tokenizer's decoder alone, as
// transformers' convert_tokens_to_string does for fast tokenizers (the
// WordPiece decoder joins "##" pieces and cleans up spaces before
// punctuation, the ByteLevel one maps bytes back to text, and so on; no
// decoder joins with spaces). Decode is this plus the
// special-token filter and clean_up_tokenization_spaces.
func (t *Tokenizer) DecodeTokens(toks []string) string {
	if t.gen != nil {
		return t.gen.decode(toks)
	}
	if !t.decodeWP {
		return strings.Join(toks, " ")
	}
	var b strings.Builder
	for i, tok := range toks {
		if i > 0 {
			if rest, ok := strings.CutPrefix(tok, t.decodePrefix); ok {
				tok = rest
			} else {
				tok = " " + tok
			}
		}
		if t.decodeCleanup {
			tok = wordpieceCleanup(tok)
		}
		b.WriteString(tok)
	}
	return b.String()
}

// ContinuingSubwordPrefix is the model's continuing_subword_prefix ("##"
// for WordPiece), which marks tokens that continue a word; "" when the
// model has none.
func (t *Tokenizer) ContinuingSubwordPrefix() string { return t.prefix }

func wordpieceCleanup(s string) string { return chainReplace(s, wordpieceCleanupReplacer) }

func cleanUpTokenization(s string) string { return chainReplace(s, cleanUpReplacer) }
