package tokenizer

import (
	"math/rand/v2"
	"strings"
	"unicode"
)

// corpusItem is one parity input: raw bytes (possibly invalid UTF-8) and the
// category it exercises.
type corpusItem struct {
	cat  string
	text string
}

// corpusGen builds the parity corpus deterministically.
type corpusGen struct {
	r     *rand.Rand
	items []corpusItem
}

func (g *corpusGen) add(cat, s string) { g.items = append(g.items, corpusItem{cat, s}) }

func (g *corpusGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *corpusGen) runeIn(lo, hi rune) rune { return lo + rune(g.r.IntN(int(hi-lo+1))) }

// tableRunes lists the runes of a Go range table (capped), to draw from.
func tableRunes(t *unicode.RangeTable, limit int) []rune {
	var out []rune
	for _, r := range t.R16 {
		for c := rune(r.Lo); c <= rune(r.Hi) && len(out) < limit; c += rune(r.Stride) {
			out = append(out, c)
		}
	}
	for _, r := range t.R32 {
		for c := rune(r.Lo); c <= rune(r.Hi) && len(out) < limit; c += rune(r.Stride) {
			out = append(out, c)
		}
	}
	return out
}

var corpusWords = strings.Fields(`the of and to in a is that for it as was with be by on not he I this are or his
from at which but have an they you were her she there been one all we their has would when if so no what up out
more said about into than them can only other new some could time these two may first then do any like my now over
such our man me even most made after also did many before must through back years where much your way well down
should because each just those people Mr how too little state good very make world still own see men work long get
here between both life being under never day same another know while last might us great old year off come since
against go came right used take three HuggingFace transformers tokenizer embeddings DistilBERT unbelievable
antidisestablishmentarianism naïve café résumé coöperate Zürich São Paulo Ångström façade jalapeño`)

var corpusSentences = []string{
	"I've been waiting for a HuggingFace course my whole life.",
	"I hate this so much!",
	"Hello, world! How are you doing today?",
	"The quick brown fox jumps over the lazy dog.",
	"Don't stop believin'; hold on to that feelin'.",
	"He said: \"It's 5 o'clock somewhere\" — and left…",
	"E-mail me at john.doe@example.com or call +1 (555) 123-4567.",
}

// unicodeSpaces are all the characters some tokenizer stage treats as a
// space, plus look-alikes that are not.
var unicodeSpaces = []rune{'\t', '\n', '\v', '\f', '\r', ' ', 0x1C, 0x1D, 0x1E, 0x1F, 0x85, 0xA0, 0x1680,
	0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
	0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0x180E, 0x200B, 0xFEFF, 0x2060}

func (g *corpusGen) words(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(g.pick(corpusWords))
	}
	return b.String()
}

func (g *corpusGen) prose() string {
	var b strings.Builder
	for range 1 + g.r.IntN(3) {
		w := g.words(3 + g.r.IntN(14))
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		b.WriteString(g.pick([]string{".", "!", "?", "...", ";", ",", ":", " —", "\"", ")."}))
		b.WriteByte(' ')
	}
	return strings.TrimSpace(b.String())
}

// mix returns n runes drawn from pool, joined with words or nothing.
func (g *corpusGen) mix(pool []rune, n int, withWords bool) string {
	var b strings.Builder
	for range n {
		b.WriteRune(pool[g.r.IntN(len(pool))])
		if withWords && g.r.IntN(3) == 0 {
			b.WriteString(g.pick([]string{" ", "a", "word", " x ", "1", "É"}))
		}
	}
	return b.String()
}

func (g *corpusGen) randomRune() rune {
	switch g.r.IntN(6) {
	case 0:
		return g.runeIn(0, 0x7F)
	case 1:
		return g.runeIn(0x80, 0x7FF)
	case 2, 3:
		for {
			if r := g.runeIn(0x800, 0xFFFF); r < 0xD800 || r > 0xDFFF {
				return r
			}
		}
	case 4:
		return g.runeIn(0x10000, 0x3FFFF)
	default:
		return g.runeIn(0x40000, 0x10FFFF)
	}
}

func buildCorpus() []corpusItem {
	g := &corpusGen{r: rand.New(rand.NewPCG(20240611, 7))}

	// English prose.
	for _, s := range corpusSentences {
		g.add("prose", s)
	}
	for range 200 {
		g.add("prose", g.prose())
	}

	// Punctuation and symbols of every category (non-ASCII symbols are not
	// BERT punctuation; ASCII ones are).
	cats := map[string]*unicode.RangeTable{"Pc": unicode.Pc, "Pd": unicode.Pd, "Ps": unicode.Ps, "Pe": unicode.Pe,
		"Pi": unicode.Pi, "Pf": unicode.Pf, "Po": unicode.Po, "Sm": unicode.Sm, "Sc": unicode.Sc, "Sk": unicode.Sk, "So": unicode.So}
	for _, name := range []string{"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"} {
		pool := tableRunes(cats[name], 5000)
		// Every character of the small categories, in chunks.
		for i := 0; i < len(pool) && i < 600; i += 40 {
			g.add("punct-"+name, "x"+string(pool[i:min(i+40, len(pool))])+"y z")
		}
		for range 12 {
			g.add("punct-"+name, g.mix(pool, 20, true))
		}
	}
	g.add("punct-ascii", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ and text(with)brackets[0]")

	// Accents and combining marks, composed and decomposed, reordered.
	latin := []rune{}
	for c := rune(0xC0); c <= 0x24F; c++ {
		latin = append(latin, c)
	}
	marks := tableRunes(unicode.Mn, 2000)
	for range 80 {
		g.add("accents", g.mix(latin, 25, true))
	}
	for range 80 {
		var b strings.Builder
		for range 10 {
			b.WriteRune(g.pick2([]rune("aeiouAEIOU ñçøx日가")))
			for range g.r.IntN(4) {
				b.WriteRune(marks[g.r.IntN(len(marks))])
			}
		}
		g.add("marks", b.String())
	}
	for _, s := range []string{"Café", "café", "Cafe\u0301", "e\u0301\u0316\u0300a", "a\u0301\u0316", "\u0344\u0316x",
		"\u0301start", " \u0301", "x \u0316\u0301", "Tiếng Việt có dấu", "Ελληνικά άέήίόύώ ΐΰ", "ǅemal ǈubljana",
		"\u0F73\u0F72", "a\u0F72\u0F73b", "\u1E9B\u0323", "q\u0307\u0323", "\uFB2C\uFB2D", "\u00C5\u212B\u0041\u030A",
		"\u1100\u1161\u11A8 \uAC00\u0301", "[MASK]\u0301\u0316x", "[CLS]\u0344", "a\u0000\u0301b", "日\u0301本",
		"\U0001D15E\U0001D165\U0001D16D", "\u0958\u0959 \u09DC", "\uF900\uF901\uFA0E\U0002F800"} {
		g.add("accents-edge", s)
	}

	// CJK, including HF's range boundaries and extension planes.
	bounds := []rune{0x33FF, 0x3400, 0x4DBF, 0x4DC0, 0x4DFF, 0x4E00, 0x9FFF, 0xA000, 0xF8FF, 0xF900, 0xFAFF, 0xFB00,
		0x1FFFF, 0x20000, 0x2A6DF, 0x2A6E0, 0x2A6FF, 0x2A700, 0x2B739, 0x2B73F, 0x2B740, 0x2B81D, 0x2B81F, 0x2B820,
		0x2B91F, 0x2B920, 0x2CEA1, 0x2CEAF, 0x2CEB0, 0x2EBE0, 0x2F7FF, 0x2F800, 0x2FA1D, 0x2FA1F, 0x2FA20, 0x30000, 0x31350, 0x323AF}
	for i := 0; i < len(bounds); i += 6 {
		var b strings.Builder
		for _, c := range bounds[i:min(i+6, len(bounds))] {
			b.WriteString("a")
			b.WriteRune(c)
			b.WriteString("b ")
		}
		g.add("cjk-bounds", b.String())
	}
	cjkRanges := [][2]rune{{0x4E00, 0x9FFF}, {0x3400, 0x4DBF}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B81F},
		{0x2B920, 0x2CEAF}, {0xF900, 0xFAFF}, {0x2F800, 0x2FA1F}, {0x3040, 0x30FF}, {0x3000, 0x303F}, {0xFF00, 0xFFEF}, {0x30000, 0x3134F}}
	for range 120 {
		rg := cjkRanges[g.r.IntN(len(cjkRanges))]
		var b strings.Builder
		for range 5 + g.r.IntN(20) {
			b.WriteRune(g.runeIn(rg[0], rg[1]))
			if g.r.IntN(5) == 0 {
				b.WriteString(g.pick([]string{"，", "。", " ", "abc", "1"}))
			}
		}
		g.add("cjk", b.String())
	}
	g.add("cjk", "我爱自然语言处理。東京は日本の首都です。")

	// Hangul: syllables (decomposed by NFD), jamo, compatibility jamo.
	for range 60 {
		var b strings.Builder
		for range 3 + g.r.IntN(12) {
			switch g.r.IntN(4) {
			case 0:
				b.WriteRune(g.runeIn(0x1100, 0x11FF))
			case 1:
				b.WriteRune(g.runeIn(0x3130, 0x318F))
			default:
				b.WriteRune(g.runeIn(0xAC00, 0xD7A3))
			}
			if g.r.IntN(3) == 0 {
				b.WriteByte(' ')
			}
		}
		g.add("hangul", b.String())
	}
	g.add("hangul", "안녕하세요, 세계! 한국어 텍스트입니다.")

	// Thai, Arabic (with harakat), Hebrew (points), Devanagari.
	scripts := map[string][2]rune{"thai": {0x0E00, 0x0E7F}, "arabic": {0x0600, 0x06FF}, "hebrew": {0x0590, 0x05FF},
		"devanagari": {0x0900, 0x097F}, "tamil": {0x0B80, 0x0BFF}, "tibetan": {0x0F00, 0x0FFF}, "cyrillic": {0x0400, 0x04FF}}
	for _, name := range []string{"thai", "arabic", "hebrew", "devanagari", "tamil", "tibetan", "cyrillic"} {
		rg := scripts[name]
		for range 20 {
			var b strings.Builder
			for range 5 + g.r.IntN(30) {
				b.WriteRune(g.runeIn(rg[0], rg[1]))
				if g.r.IntN(6) == 0 {
					b.WriteByte(' ')
				}
			}
			g.add(name, b.String())
		}
	}
	g.add("thai", "ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรคระหว่างคำ")
	g.add("arabic", "مَرْحَبًا بِالْعَالَمِ! هذا نص عربي.")

	// Emoji, ZWJ sequences, modifiers, flags, keycaps.
	emoji := []string{"😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇯🇵", "1️⃣", "❤️", "🥰", "🫠", "🧑🏿‍💻", "👩‍❤️‍💋‍👨", "☺", "✌️", "🦄", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"}
	for range 70 {
		var b strings.Builder
		for range 1 + g.r.IntN(6) {
			b.WriteString(g.pick(emoji))
			if g.r.IntN(2) == 0 {
				b.WriteString(g.pick([]string{" ", "lol", "!", "wow "}))
			}
		}
		g.add("emoji", b.String())
	}

	// Control and zero-width characters.
	ctrl := []rune{0, 1, 7, 8, 0x0B, 0x0C, 0x0E, 0x1B, 0x1F, 0x7F, 0x80, 0x85, 0x9F, 0xAD, 0x200B, 0x200C, 0x200D,
		0x200E, 0x200F, 0x202A, 0x202E, 0x2060, 0x2066, 0x2069, 0xFEFF, 0xFFF9, 0xFFFB, 0xFFFC, 0xFFFD, 0x061C, 0x180E,
		0x110BD, 0x1BCA0, 0x1D173, 0xE0001, 0xE0020, 0xE007F, 0x34F, 0x17B4}
	for range 70 {
		g.add("control", g.mix(ctrl, 12, true))
	}
	g.add("control", "\x00\x00")
	g.add("control", "\u200b")

	// Private use, noncharacters, unassigned and tags.
	priv := []rune{0xE000, 0xF8FF, 0xF0000, 0xFFFFD, 0x100000, 0x10FFFD, 0xFDD0, 0xFFFE, 0xFFFF, 0x1FFFE, 0x10FFFF,
		0x0378, 0x0380, 0x2FE0, 0xE0080, 0x3FFFD, 0xEFFFF, 0x1E030, 0x16FF0, 0x11938, 0x10D50, 0x1C89, 0xA7CB}
	for range 40 {
		g.add("private", g.mix(priv, 10, true))
	}

	// Case changes that change length or need special casing.
	cases := []string{"K", "Å", "İ", "ı", "ß", "ẞ", "ŉ", "ǅ", "Ǉ", "ΣΑΣ", "ς", "ϴ", "ᾈ", "ῼ", "Ａ", "𐐀", "Ꭰ", "ꭰ", "Ⅻ",
		"Ⓐ", "ǰ", "ﬀ", "ﬃ", "Ꞔ", "\u1C89", "\uA7CB", "\uA7CC", "\uA7DC", "\U00010D50", "\U00010D65", "\U0001E900", "ℌ"}
	for range 90 {
		var b strings.Builder
		for range 2 + g.r.IntN(8) {
			b.WriteString(g.pick(cases))
			if g.r.IntN(2) == 0 {
				b.WriteString(g.pick([]string{" ", "elvin", "stanbul", "TRASSE", "\u0301", "x"}))
			}
		}
		g.add("case", b.String())
	}
	g.add("case", "KELVIN \u212A İSTANBUL STRASSE ǅEMAL ΣΊΣΥΦΟΣ")

	// Words around max_input_chars_per_word (100).
	for _, n := range []int{99, 100, 101, 150, 300} {
		g.add("longword", strings.Repeat("a", n))
		g.add("longword", strings.Repeat("é", n))
		g.add("longword", strings.Repeat("un", n/2)+"able")
		g.add("longword", "x"+strings.Repeat("\u0301", n)+" end") // marks stripped only when uncased
		g.add("longword", strings.Repeat("ab\u200b", n/3))        // zero-width removed before counting
	}
	for range 40 {
		g.add("longword", strings.Repeat(g.pick(corpusWords), 10+g.r.IntN(20)))
	}

	// Whitespace runs of every kind.
	for _, sp := range unicodeSpaces {
		g.add("spaces", "word"+string(sp)+"next"+strings.Repeat(string(sp), 3)+"end"+string(sp))
	}
	for range 50 {
		var b strings.Builder
		for range 6 {
			b.WriteString(g.pick(corpusWords))
			for range 1 + g.r.IntN(4) {
				b.WriteRune(unicodeSpaces[g.r.IntN(len(unicodeSpaces))])
			}
		}
		g.add("spaces", b.String())
	}
	g.add("spaces", " ")
	g.add("spaces", "\u3000\u3000")
	g.add("spaces", "   leading and trailing   ")

	// URLs, e-mails, code, paths.
	code := []string{"https://huggingface.co/distilbert-base-uncased?x=1&y=%20#frag",
		"http://例え.jp/パス?q=値", "ftp://user:pass@host:21/file.tar.gz", "mailto:someone@example.org",
		"func main() { fmt.Println(\"hi\") }", "x := []int{1, 2, 3}; y = x[1:]", "if (a && b || !c) { return -1; }",
		"SELECT * FROM users WHERE id = 42;", "C:\\Users\\me\\Documents\\file.txt", "/usr/local/bin/python3.11",
		"<div class=\"a\">Hello &amp; bye</div>", "$ git commit -m 'fix: bug #123'", "def f(x): return x**2 // 3",
		"@decorator\nclass Foo(Bar):\n\tpass", "{\"key\": [1, 2.5e-3, null, true]}", "a_b__c___d snake_case CamelCase"}
	for _, s := range code {
		g.add("code", s)
	}
	for range 80 {
		g.add("code", g.pick(code)+" "+g.pick(code)[:10]+g.words(2))
	}

	// Numbers.
	nums := []string{"0", "42", "3.14159", "1,000,000", "1e-10", "-273.15°C", "$1.99", "€20", "¥500", "50%", "2024-06-11",
		"12:30:45", "+33 1 23 45 67 89", "²³¹", "½¼¾", "Ⅻ", "①②③", "٣٤٥", "१२३", "１２３", "0x1F", "1_000"}
	for range 80 {
		g.add("numbers", g.pick(nums)+" "+g.pick(nums)+" "+g.words(1)+" "+g.pick(nums))
	}

	// Special tokens inside the text.
	for _, s := range []string{"[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[mask]", "[MASK][MASK]", "a[MASK]b",
		"[[MASK]]", "[MAS K]", "[CLS] hello [SEP] world [SEP]", " [PAD] ", "x[UNK]y", "[MASKED]", "[", "]", "[]",
		"İ[MASK]", "\u0301[SEP]\u0301", "[MASK]\xffx", "日[MASK]本"} {
		g.add("special", s)
	}

	// Tokens the "added" tokenizer adds (plain ones match after
	// normalization, so "HFPipe" and "TOKENIZERS" match too).
	for _, s := range []string{"hfpipe", "HFPipe rocks", "I love Tokenizers!", "TOKENIZERS", "tokenizers", "日本語です",
		"[custom] [CUSTOM] [custom", "<ent>Paris</ent>", "<ENT>", "New York, new york, NEW  YORK", "xhfpipex",
		"hfpipehfpipe", "[MASK]hfpipe<ent>", "Tokénizers", "wordonly", "a wordonly b", "awordonly", "wordonlyx",
		"(wordonly)", "wordonly!", "WordOnly", "a <strip> b", "x \u3000 <strip>\t\n y", "<strip><strip>", "<strip>",
		" <l> ", "a<l>b", "a  <l>  <strip>  b"} {
		g.add("added", s)
	}

	// Invalid UTF-8.
	bad := []string{"\xff", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xbf", "\xc3",
		"\xe2\x82", "\xf0\x9f\x98", "\xf0\x9f", "\xe0\xa0", "\xf8\x88\x80\x80\x80", "\xfe", "\xc1\xbf", "\xf5\x80", "\xe1\x80\xc0",
		"\xf1\x80\x80\xe1\x80", "\xed\x9f\xbf", "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf"}
	for _, b := range bad {
		g.add("invalid", "a"+b+"b")
		g.add("invalid", b)
	}
	for range 110 {
		var b []byte
		for range 4 + g.r.IntN(20) {
			switch g.r.IntN(4) {
			case 0:
				b = append(b, byte(g.r.IntN(256)))
			case 1:
				b = append(b, g.pick(bad)...)
			case 2:
				b = append(b, g.pick(corpusWords)...)
			default:
				s := string(g.randomRune())
				b = append(b, s[:1+g.r.IntN(len(s))]...) // maybe truncated
			}
		}
		g.add("invalid", string(b))
	}

	// Random code points from the whole range.
	for range 300 {
		var b strings.Builder
		for range 1 + g.r.IntN(30) {
			b.WriteRune(g.randomRune())
			if g.r.IntN(4) == 0 {
				b.WriteByte(' ')
			}
		}
		g.add("random", b.String())
	}
	// Random mixes of everything above.
	base := len(g.items)
	for range 200 {
		a, b := g.items[g.r.IntN(base)].text, g.items[g.r.IntN(base)].text
		g.add("mixed", a+g.pick([]string{" ", "", "\n", "。", "[SEP]"})+b)
	}

	// Edge cases.
	for _, s := range []string{"", " ", "a", ".", "...", "\x00", "\u00a0", "\ufffd", "##", "##a", "a##b", "[UNK]", "\t\n"} {
		g.add("edge", s)
	}

	// 10k-character texts.
	for range 12 {
		var b strings.Builder
		for b.Len() < 10000*2 && len([]rune(b.String())) < 10000 {
			b.WriteString(g.items[g.r.IntN(base)].text)
			b.WriteByte(' ')
		}
		rs := []rune(b.String())
		if len(rs) > 10000 {
			rs = rs[:10000]
		}
		g.add("long10k", string(rs))
	}
	return g.items
}

func (g *corpusGen) pick2(rs []rune) rune { return rs[g.r.IntN(len(rs))] }
