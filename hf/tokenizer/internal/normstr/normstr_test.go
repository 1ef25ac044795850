package normstr

import (
	"reflect"
	"testing"
	"unicode"
)

// The cases below are tokenizers' own NormalizedString tests
// (tokenizers/src/tokenizer/normalizer.rs), ported.

func spans(ps ...[2]int) []Span {
	out := make([]Span, len(ps))
	for i, p := range ps {
		out[i] = Span{p[0], p[1]}
	}
	return out
}

func TestRemoveChars(t *testing.T) {
	n := New("élégant", 0)
	n.Filter(func(c rune) bool { return c != 'n' })
	if n.Norm != "élégat" {
		t.Fatalf("got %q", n.Norm)
	}
	want := spans([2]int{0, 2}, [2]int{0, 2}, [2]int{2, 3}, [2]int{3, 5}, [2]int{3, 5}, [2]int{5, 6}, [2]int{6, 7}, [2]int{8, 9})
	if !reflect.DeepEqual(n.Align, want) {
		t.Fatalf("alignments %v, want %v", n.Align, want)
	}
}

func TestAddedAroundEdges(t *testing.T) {
	n := New("Hello", 0)
	n.Transform([]Change{{' ', 1}, {'H', 0}, {'e', 0}, {'l', 0}, {'l', 0}, {'o', 0}, {' ', 1}}, 0)
	if n.Norm != " Hello " {
		t.Fatalf("got %q", n.Norm)
	}
	if o, _ := n.OrigSpan(1, len(n.Norm)-1); o != (Span{0, 5}) {
		t.Fatalf("original of Hello: %v", o)
	}
}

func TestStrip(t *testing.T) {
	n := New("  This is an example  ", 0)
	n.Strip(true, true, unicode.IsSpace)
	if n.Norm != "This is an example" {
		t.Fatalf("got %q", n.Norm)
	}
	if o, _ := n.OrigSpan(0, len(n.Norm)); o != (Span{2, 20}) {
		t.Fatalf("original span %v", o)
	}
}

func TestPrepend(t *testing.T) {
	n := New("there", 0)
	n.Prepend("Hey ")
	if n.Norm != "Hey there" {
		t.Fatalf("got %q", n.Norm)
	}
	want := spans([2]int{0, 1}, [2]int{0, 1}, [2]int{0, 1}, [2]int{0, 1}, [2]int{0, 1}, [2]int{1, 2}, [2]int{2, 3}, [2]int{3, 4}, [2]int{4, 5})
	if !reflect.DeepEqual(n.Align, want) {
		t.Fatalf("alignments %v, want %v", n.Align, want)
	}
	if o, _ := n.OrigSpan(0, 4); o != (Span{0, 1}) {
		t.Fatalf("original of 'Hey ': %v", o)
	}
}

// TestSplitBehaviors is the doc example of NormalizedString::split on
// "the-final--countdown" split at '-'.
func TestSplitBehaviors(t *testing.T) {
	for b, want := range map[Behavior][]string{
		Removed:            {"the", "final", "countdown"},
		Isolated:           {"the", "-", "final", "-", "-", "countdown"},
		MergedWithPrevious: {"the-", "final-", "-", "countdown"},
		MergedWithNext:     {"the", "-final", "-", "-countdown"},
		Contiguous:         {"the", "-", "final", "--", "countdown"},
	} {
		n := New("the-final--countdown", 0)
		var got []string
		for _, p := range n.Split(FindFunc(n.Norm, func(r rune) bool { return r == '-' }), b) {
			got = append(got, p.Norm)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("behavior %d: got %q, want %q", b, got, want)
		}
	}
}
