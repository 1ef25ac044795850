"""Derive the character tables of Hugging Face's BERT normalizer and pre-tokenizer
by probing the pinned `tokenizers` wheel, and write them as Go source.

Why probe instead of reading the Unicode Character Database: `tokenizers` 0.22.1
mixes three Unicode versions. Its categories (control/format, punctuation,
non-spacing marks) come from the `unicode_categories` crate (Unicode 8-era
tables), its NFD from `unicode-normalization-alignments` (Unicode 9.0), and its
lowercase and whitespace from Rust's std (Unicode 16). No single UCD version
reproduces that mix, and Go's own tables (Unicode 15) differ from all three.
Asking the library itself, one code point at a time, gives its exact tables.

Usage:
    python tokenizer_tables.py go  > hf/tokenizer/tables_gen.go   (generate)
    python tokenizer_tables.py dump OUT.json                       (test oracle)
    python tokenizer_tables.py forms OUT.json                      (NFC/NFD/NFKC/NFKD oracle)
"""
import json
import sys
import unicodedata

import tokenizers
from tokenizers import PreTokenizedString, Regex, normalizers, pre_tokenizers

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def chars():
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        yield c


def ranges(cs):
    out = []
    for c in sorted(cs):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def probe():
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    lower = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True)
    nfd = normalizers.NFD()
    nfkd = normalizers.NFKD()
    nfc = normalizers.NFC()
    pt = pre_tokenizers.BertPreTokenizer()

    remove, space, punct, mn = [], [], [], []
    lowmap, decomp, compat = {}, {}, {}
    for c in chars():
        s = chr(c)
        if clean.normalize_str(s) == "":
            remove.append(c)
        parts = pt.pre_tokenize_str("a" + s + "a")
        if len(parts) == 2:
            space.append(c)
        elif len(parts) == 3:
            punct.append(c)
        low = lower.normalize_str(s)
        if low != s:
            lowmap[c] = [ord(x) for x in low]
        d = nfd.normalize_str(s)
        if d != s:
            decomp[c] = [ord(x) for x in d]
        elif strip.normalize_str(s) == "":
            mn.append(c)
        k = nfkd.normalize_str(s)
        if k != d and not HANGUL_FIRST <= c <= HANGUL_LAST:
            compat[c] = [ord(x) for x in k]

    # Hangul syllables decompose algorithmically; check the library agrees and
    # keep them out of the table.
    for c in range(HANGUL_FIRST, HANGUL_LAST + 1):
        s = c - HANGUL_FIRST
        want = [0x1100 + s // 588, 0x1161 + (s % 588) // 28] + ([0x11A7 + s % 28] if s % 28 else [])
        assert decomp.pop(c) == want, hex(c)

    # Canonical combining classes as the library's NFD uses them. A class is
    # only observable through reordering: "a" + c + r is reordered iff
    # ccc(c) > ccc(r) > 0. Use one reference mark per class value (from
    # Python's UCD, confirmed non-zero by the library) and find, for every
    # candidate, the class the library actually sorts it with.
    def nonzero(c):
        s = "a\u0301" + chr(c)  # U+0301 has class 230
        if nfd.normalize_str(s) != s:
            return True  # moved before a 230 mark: class in 1..229
        s = "a" + chr(c) + "\u0334"  # U+0334 has class 1
        return nfd.normalize_str(s) != s  # class > 1

    cands = [c for c in chars() if unicodedata.combining(chr(c)) and c not in decomp]
    refs = {}
    for c in cands:
        v = unicodedata.combining(chr(c))
        if v not in refs and nonzero(c):
            refs[v] = c
    values = sorted(refs)
    ccc = {}
    for c in cands:
        if not nonzero(c):
            continue  # assigned after the library's Unicode 9.0 tables
        got = None
        for v in values:
            s = "a" + chr(c) + chr(refs[v])
            if nfd.normalize_str(s) == s:  # not reordered: ccc(c) <= v
                got = v
                break
        if got is None or (got != unicodedata.combining(chr(c)) and refs[got] != c):
            raise SystemExit("ccc probe failed for U+%04X" % c)
        ccc[c] = unicodedata.combining(chr(c))
    # Marks produced only by decompositions need a class too.
    for d in list(decomp.values()) + list(compat.values()):
        for x in d:
            if x not in ccc and unicodedata.combining(chr(x)) and nonzero(x):
                ccc[x] = unicodedata.combining(chr(x))
    # The library emits a decomposition in its table's order and then sorts
    # runs of marks; which output character is "first" (and so takes the
    # source's alignment) follows the table's order. Every full
    # decomposition is already in canonical order (checked here against the
    # UCD's recursive mappings), so the sorted output is the table's order.
    for table, kind in ((decomp, False), (compat, True)):
        for c, d in table.items():
            if ucd_full(c, kind) != d:
                raise SystemExit("decomposition of U+%04X is not in table order: %s" % (c, d))
    return dict(remove=remove, space=space, punct=punct, mn=mn, lower=lowmap, decomp=decomp, ccc=ccc,
                compat=compat, compose=compositions(nfc, decomp))


def ucd_full(c, compat):
    """The full (recursive) decomposition of c from Python's UCD, unsorted."""
    d = unicodedata.decomposition(chr(c))
    if not d:
        return [c]
    p = d.split()
    if p[0].startswith("<"):
        if not compat:
            return [c]
        p = p[1:]
    out = []
    for x in p:
        out += ucd_full(int(x, 16), compat)
    return out


def composition_candidates():
    """Every pair (a, b) whose canonical mapping is a two-character one in
    Python's UCD (a later Unicode than the library's 9.0: by the stability
    policy the library's compositions are those of these whose characters
    it knows and that it composes)."""
    for c in chars():
        d = unicodedata.decomposition(chr(c))
        if not d or d.startswith("<"):
            continue
        p = [int(x, 16) for x in d.split()]
        if len(p) == 2:
            yield c, p[0], p[1]


def compositions(nfc, decomp):
    """Primary composites the library builds: a + b composes to c when its
    NFC of a + b is c (composition exclusions and non-starter
    decompositions stay decomposed)."""
    out = {}
    for c, a, b in composition_candidates():
        if c not in decomp:
            continue  # unassigned in Unicode 9.0
        if nfc.normalize_str(chr(a) + chr(b)) == chr(c):
            out[(a, b)] = c
    return out


def emit_ranges(w, name, doc, cs):
    w("// %s %s\n" % (name, doc))
    w("var %s = []runeRange{\n" % name)
    for lo, hi in ranges(cs):
        w("\t{0x%04X, 0x%04X},\n" % (lo, hi))
    w("}\n\n")


def gen_go():
    p = probe()
    out = []
    w = out.append
    w("// Code generated by third_party/tools/tokenizer_tables.py from tokenizers %s; DO NOT EDIT.\n\n" % tokenizers.__version__)
    w("package tokenizer\n\n")
    w("// tablesVersion names the tokenizers release these tables were probed from.\n")
    w('const tablesVersion = "tokenizers %s"\n\n' % tokenizers.__version__)
    emit_ranges(w, "removeRanges", "lists what clean_text deletes: NUL, U+FFFD and\n// unicode_categories' is_other (Cc, Cf, Co) except tab, LF and CR.", p["remove"])
    emit_ranges(w, "spaceRanges", "is Rust's char::is_whitespace.", p["space"])
    emit_ranges(w, "punctRanges", "is BertPreTokenizer's is_bert_punc: ASCII punctuation or\n// unicode_categories' is_punctuation.", p["punct"])
    emit_ranges(w, "nonspacingRanges", "is unicode_categories' is_mark_nonspacing (Mn), restricted to\n// characters NFD leaves alone (the others are checked through their decomposition).", p["mn"])
    w("// lowerSingle maps each character whose Rust char::to_lowercase is one other\n// character (Unicode 16); U+0130 is the only longer case and is handled in code.\n")
    w("var lowerSingle = []runePair{\n")
    for c in sorted(p["lower"]):
        m = p["lower"][c]
        if len(m) == 1:
            w("\t{0x%04X, 0x%04X},\n" % (c, m[0]))
        else:
            assert c == 0x130 and m == [0x69, 0x307], (hex(c), m)
    w("}\n\n")
    w("// decompositions holds the full canonical decomposition (Unicode 9.0) of every\n// character that has one, Hangul syllables excepted (computed). Each entry is\n// the character followed by its decomposition, entries separated by 0.\n")
    w("var decompositions = []rune{\n")
    for c in sorted(p["decomp"]):
        w("\t0x%04X, %s, 0,\n" % (c, ", ".join("0x%04X" % x for x in p["decomp"][c])))
    w("}\n\n")
    w("// compatDecompositions holds the full compatibility decomposition (Unicode\n// 9.0) of every character whose NFKD differs from its NFD, in the same format.\n")
    w("var compatDecompositions = []rune{\n")
    for c in sorted(p["compat"]):
        w("\t0x%04X, %s, 0,\n" % (c, ", ".join("0x%04X" % x for x in p["compat"][c])))
    w("}\n\n")
    w("// compositions lists the canonical compositions (Unicode 9.0, exclusions\n// applied) as first, second, composite; Hangul syllables are computed.\n")
    w("var compositions = []runeTriple{\n")
    for (a, b), c in sorted(p["compose"].items()):
        w("\t{0x%04X, 0x%04X, 0x%04X},\n" % (a, b, c))
    w("}\n\n")
    w("// combiningClasses lists the non-zero canonical combining classes the\n// library's NFD sorts by (Unicode 9.0 assignments).\n")
    w("var combiningClasses = []runeClass{\n")
    for c in sorted(p["ccc"]):
        w("\t{0x%04X, %d},\n" % (c, p["ccc"][c]))
    w("}\n")
    sys.stdout.write("".join(out))


def dump(path):
    """Per code point outputs of the two normalizers the tests use, plus the
    pre-tokenizer class, recorded only where they differ from the identity."""
    unc = normalizers.BertNormalizer(lowercase=True)
    cas = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    acc = normalizers.BertNormalizer(lowercase=False, strip_accents=True, clean_text=False, handle_chinese_chars=False)
    low = normalizers.BertNormalizer(lowercase=True, strip_accents=False, clean_text=False, handle_chinese_chars=False)
    pt = pre_tokenizers.BertPreTokenizer()
    res = {"uncased": {}, "cased": {}, "strip": {}, "lower": {}, "pretok": {}}
    for c in chars():
        s = chr(c)
        for name, n in (("uncased", unc), ("cased", cas), ("strip", acc), ("lower", low)):
            r = n.normalize_str(s)
            if r != s:
                res[name][c] = r
        k = len(pt.pre_tokenize_str("a" + s + "a"))
        if k != 1:
            res["pretok"][c] = k
    with open(path, "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=True)


FORMS = ("NFC", "NFD", "NFKC", "NFKD")


def form_sequences():
    """Adversarial sequences for the four normalization forms: every
    composition candidate with marks around it, Hangul L V T runs, singletons
    and exclusions in context, mark runs to reorder, starters after
    non-starters, marks the library does not know (assigned after 9.0), and
    random mixes of all of these."""
    import random
    rnd = random.Random(20261203)
    nfd = normalizers.NFD()
    known_ccc = {}
    for c in chars():
        if unicodedata.combining(chr(c)):
            s = "a\u0301" + chr(c)
            known_ccc[c] = nfd.normalize_str(s) != s or nfd.normalize_str("a" + chr(c) + "\u0334") != "a" + chr(c) + "\u0334"
    marks = [c for c, k in known_ccc.items() if k]
    late = [c for c, k in known_ccc.items() if not k]
    decomposable = [c for c in chars() if unicodedata.decomposition(chr(c))]
    cands = list(composition_candidates())
    singles = [c for c in decomposable if len(unicodedata.decomposition(chr(c)).split()) == 1]
    seqs = []
    pick = lambda xs: chr(rnd.choice(xs))
    for c, a, b in cands:
        seqs.append(chr(a) + chr(b))
        seqs.append("x" + chr(a) + pick(marks) + chr(b) + pick(marks))
        seqs.append(chr(c) + pick(marks) + chr(b))
        seqs.append(chr(a) + chr(b) + chr(b))
    L = [chr(0x1100 + i) for i in range(19)] + ["\u1112", "\u115F", "\uA960"]
    V = [chr(0x1161 + i) for i in range(21)] + ["\u1160", "\uD7B0"]
    T = [chr(0x11A7 + i) for i in range(28)] + ["\uD7CB"]
    S = [chr(0xAC00 + 28 * i) for i in range(0, 399, 7)] + [chr(0xAC01), chr(0xD7A3)]
    for _ in range(1500):
        seqs.append("".join(rnd.choice(rnd.choice([L, V, T, S, ["a", "\u0301", " "]])) for _ in range(rnd.randint(2, 7))))
    for c in singles:
        seqs.append("a" + chr(c) + pick(marks) + chr(c))
    for _ in range(3000):
        n = rnd.randint(1, 8)
        parts = []
        for _ in range(n):
            k = rnd.randrange(8)
            if k < 3:
                parts.append(pick(marks))
            elif k == 3:
                parts.append(pick(decomposable))
            elif k == 4:
                parts.append(pick(late))
            elif k == 5:
                c, a, b = rnd.choice(cands)
                parts.append(rnd.choice([chr(a), chr(b), chr(c)]))
            elif k == 6:
                parts.append(rnd.choice("aeiouAO \n1\u00e9\u0f71\u0f72\u0f73\u0344\u0958"))
            else:
                parts.append(rnd.choice(L + V + T + S))
        seqs.append("".join(parts))
    return seqs


def forms_dump(path):
    """Per code point NFC/NFD/NFKC/NFKD where different from the identity,
    and for the adversarial sequences each form's output with the original
    byte span of every output character (NormalizedString's alignments)."""
    res = {"single": {f: {} for f in FORMS}, "seqs": []}
    ns = {f: getattr(normalizers, f)() for f in FORMS}
    for c in chars():
        s = chr(c)
        for f in FORMS:
            r = ns[f].normalize_str(s)
            if r != s:
                res["single"][f][c] = r
    for s in form_sequences():
        row = {"in": s}
        for f in FORMS:
            p = PreTokenizedString(s)
            p.normalize(lambda n, f=f: getattr(n, f.lower())())
            p.split(lambda i, n: n.split(Regex("(?m)."), "isolated"))
            row[f] = [[piece, list(span)] for piece, span, _ in p.get_splits(offset_referential="original", offset_type="byte")]
        res["seqs"].append(row)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["go"]:
        gen_go()
    elif len(sys.argv) == 3 and sys.argv[1] == "dump":
        dump(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "forms":
        forms_dump(sys.argv[2])
    else:
        raise SystemExit(__doc__)
