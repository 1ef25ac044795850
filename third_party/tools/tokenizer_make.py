"""Make the tokenizer folders the Go parity tests load, the way a model author
would: DistilBertTokenizerFast over the real bert-base-uncased vocabulary,
saved with save_pretrained.

    python tokenizer_make.py VOCAB_TXT OUT_DIR

writes OUT_DIR/{uncased,cased,lower-accents,added} (tokenizer.json, tokenizer_config.json,
special_tokens_map.json, vocab.txt) and OUT_DIR/{uncased,cased,lower-accents,added}-vocab (the
same without tokenizer.json, so transformers converts vocab.txt itself), then
OUT_DIR/stamp last, so a half-written folder is never taken as done.
"""
import os
import shutil
import sys

from transformers import AddedToken, DistilBertTokenizerFast

VARIANTS = {
    # distilbert-base-uncased
    "uncased": dict(do_lower_case=True),
    # a cased tokenizer: no lowercasing, accents kept
    "cased": dict(do_lower_case=False, strip_accents=False),
    # lowercase but keep accents: the only path where lowercasing sees
    # precomposed letters (İ becomes two characters)
    "lower-accents": dict(do_lower_case=True, strip_accents=False),
    # uncased plus added tokens: ordinary ones (matched after normalization)
    # and an extra special one (matched on the raw text)
    "added": dict(do_lower_case=True),
}

ADDED = ["hfpipe", "Tokenizers", "日本語", "[custom]", "new york",
         AddedToken("wordonly", single_word=True), AddedToken("<l>", lstrip=True, rstrip=True, normalized=False)]
ADDED_SPECIAL = ["<ent>", AddedToken("<strip>", lstrip=True, rstrip=True, special=True, normalized=False)]


def main(vocab, out):
    os.makedirs(out, exist_ok=True)
    for name, kw in VARIANTS.items():
        d = os.path.join(out, name)
        shutil.rmtree(d, ignore_errors=True)
        tok = DistilBertTokenizerFast(vocab_file=vocab, model_max_length=512, **kw)
        if name == "added":
            tok.add_tokens(ADDED)
            tok.add_special_tokens({"additional_special_tokens": ADDED_SPECIAL})
        tok.save_pretrained(d)
        v = d + "-vocab"
        shutil.rmtree(v, ignore_errors=True)
        shutil.copytree(d, v)
        os.remove(os.path.join(v, "tokenizer.json"))
    with open(os.path.join(out, "stamp"), "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
