package tokenizer

import (
	"errors"
	"fmt"
)

// Padding selects how encodings are padded ([Options.Padding]).
type Padding int

const (
	// NoPadding leaves every encoding at its own length (transformers padding=False).
	NoPadding Padding = iota
	// PadLongest pads every row of a batch to the longest row (padding="longest" / True).
	PadLongest
	// PadMaxLength pads to Options.MaxLength, or to ModelMaxLength when it is 0
	// (padding="max_length"). Longer rows are not cut unless truncation is on.
	PadMaxLength
)

// Truncation selects how too-long inputs are cut ([Options.Truncation]).
type Truncation int

const (
	// NoTruncation keeps every token, unless MaxLength is set with no
	// padding: transformers then truncates longest-first, and so do we.
	NoTruncation Truncation = iota
	// LongestFirst cuts tokens from the longer sequence of a pair first
	// (truncation=True / "longest_first"), with tokenizers' exact split.
	LongestFirst
	// OnlyFirst cuts only the first sequence; an error if that is not enough.
	OnlyFirst
	// OnlySecond cuts only the second sequence; an error if that is not
	// enough or there is no second sequence.
	OnlySecond
)

// Side says which end padding or truncation works on.
type Side int

const (
	// SideDefault is the tokenizer's own setting (tokenizer_config.json
	// padding_side / truncation_side, right when absent).
	SideDefault Side = iota
	// SideRight pads or truncates at the end.
	SideRight
	// SideLeft pads or truncates at the start.
	SideLeft
)

// Options are the encoding settings of transformers' tokenizer __call__. The
// zero value is its defaults: special tokens, no padding, no truncation.
type Options struct {
	// NoSpecialTokens leaves out [CLS] and [SEP] (add_special_tokens=False);
	// token type ids still follow the pair template.
	NoSpecialTokens bool
	// Padding is the padding strategy.
	Padding Padding
	// PadToMultipleOf, when positive, rounds the padded length up to a multiple of it.
	PadToMultipleOf int
	// PaddingSide is where pad tokens go.
	PaddingSide Side
	// Truncation is the truncation strategy.
	Truncation Truncation
	// TruncationSide is the end tokens are cut from.
	TruncationSide Side
	// MaxLength bounds the length, special tokens included, for truncation
	// and PadMaxLength; 0 means the tokenizer's ModelMaxLength.
	MaxLength int
}

// ErrTruncation is wrapped by the errors of truncation strategies that
// cannot reach the requested length (tokenizers raises the same cases).
var ErrTruncation = errors.New("truncation error")

var (
	errSecondMissing = fmt.Errorf("%w: second sequence not provided", ErrTruncation)
	errTooShort      = fmt.Errorf("%w: sequence to truncate too short to respect the provided max_length", ErrTruncation)
)

// maxPadLength bounds what padding may ask for, so a stray MaxLength cannot
// make an allocation panic; it is far beyond any model's positions.
const maxPadLength = 1 << 24

// plan is Options resolved against the tokenizer, as transformers'
// _get_padding_truncation_strategies and set_truncation_and_padding do.
type plan struct {
	special   bool
	trunc     Truncation
	maxLen    int
	truncLeft bool
	pad       Padding
	padLen    int
	padLeft   bool
	multiple  int
}

func (t *Tokenizer) plan(o Options) (plan, error) {
	p := plan{special: !o.NoSpecialTokens, trunc: o.Truncation, pad: o.Padding, maxLen: o.MaxLength}
	if o.MaxLength < 0 || o.PadToMultipleOf < 0 {
		return p, fmt.Errorf("tokenizer: negative MaxLength (%d) or PadToMultipleOf (%d)", o.MaxLength, o.PadToMultipleOf)
	}

	if p.trunc < NoTruncation || p.trunc > OnlySecond || p.pad < NoPadding || p.pad > PadMaxLength {
		return p, fmt.Errorf("tokenizer: unknown truncation (%d) or padding (%d)", p.trunc, p.pad)
	}
	if o.MaxLength > 0 && p.pad == NoPadding && p.trunc == NoTruncation {
		p.trunc = LongestFirst
	}
	if p.maxLen == 0 {
		if p.pad == PadMaxLength {
			if t.modelMaxLength == Unlimited {
				p.pad = NoPadding
			} else {
				p.maxLen = t.modelMaxLength
			}
		}
		if p.trunc != NoTruncation {
			if t.modelMaxLength == Unlimited {
				p.trunc = NoTruncation
			} else {
				p.maxLen = t.modelMaxLength
			}
		}
	}
	if p.pad != NoPadding && !t.hasPad {
		return p, fmt.Errorf("tokenizer: padding requested but the tokenizer has no pad token")
	}
	if p.trunc != NoTruncation && p.pad != NoPadding && o.PadToMultipleOf > 0 && p.maxLen%o.PadToMultipleOf != 0 {
		return p, fmt.Errorf("tokenizer: truncation and padding are both activated but truncation length (%d) is not a multiple of PadToMultipleOf (%d)", p.maxLen, o.PadToMultipleOf)
	}
	if (p.pad == PadMaxLength && p.maxLen > maxPadLength) || o.PadToMultipleOf > maxPadLength {
		return p, fmt.Errorf("tokenizer: padding to length %d or to a multiple of %d is beyond %d tokens", p.maxLen, o.PadToMultipleOf, maxPadLength)
	}
	p.padLen = p.maxLen
	p.multiple = o.PadToMultipleOf
	p.truncLeft = resolveSide(o.TruncationSide, t.truncSide) == SideLeft
	p.padLeft = resolveSide(o.PaddingSide, t.padSide) == SideLeft
	return p, nil
}

func resolveSide(s, def Side) Side {
	if s == SideDefault {
		if def == SideDefault {
			return SideRight
		}
		return def
	}
	return s
}

// truncate is tokenizers' truncate_encodings with the max length reduced by
// the special tokens the post-processor will add (Tokenizer::post_process).
func (p *plan) truncate(a, b *seqBuf, nAdded int) error {
	if p.trunc == NoTruncation {
		return nil
	}
	maxLen := p.maxLen
	if p.special && nAdded > 0 {
		if maxLen < nAdded {
			// tokenizers computes max_length - n_added in usize, which wraps
			// to a huge limit: nothing is truncated.
			return nil
		}
		maxLen -= nAdded
	}
	if maxLen == 0 {
		a.keep(0, p.truncLeft)
		if b != nil {
			b.keep(0, p.truncLeft)
		}
		return nil
	}
	total := a.len() + b.len()
	if total <= maxLen {
		return nil
	}
	toRemove := total - maxLen
	switch p.trunc {
	case LongestFirst:
		if b == nil {
			a.keep(total-toRemove, p.truncLeft)
			return nil
		}
		n1, n2 := a.len(), b.len()
		swap := n1 > n2
		if swap {
			n1, n2 = n2, n1
		}
		if n1 > maxLen {
			n2 = n1
		} else {
			n2 = max(n1, maxLen-n1)
		}
		if n1+n2 > maxLen {
			n1 = maxLen / 2
			n2 = n1 + maxLen%2
		}
		if swap {
			n1, n2 = n2, n1
		}
		a.keep(n1, p.truncLeft)
		b.keep(n2, p.truncLeft)
	default:
		target := a
		if p.trunc == OnlySecond {
			if b == nil {
				return errSecondMissing
			}
			target = b
		}
		if target.len() <= toRemove {
			return errTooShort
		}
		target.keep(target.len()-toRemove, p.truncLeft)
	}
	return nil
}

// padTarget is pad_encodings' target length for a batch whose longest row
// has longest tokens; rows already longer keep their length. 0 means no
// padding.
func (p *plan) padTarget(longest int) int {
	var n int
	switch p.pad {
	case NoPadding:
		return 0
	case PadMaxLength:
		n = p.padLen
	default:
		n = longest
	}
	if p.multiple > 0 && n%p.multiple != 0 {
		n += p.multiple - n%p.multiple
	}
	return n
}
