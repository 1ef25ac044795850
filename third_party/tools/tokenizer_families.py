"""Make the byte-level BPE and Unigram tokenizer folders the Go parity tests load.

    python tokenizer_families.py OUT_DIR

No Hub here and no PyPI package ships RoBERTa/GPT-2/XLM-R/DeBERTa-v3 vocabularies, so
they are trained, small and deterministic, on text that ships with the pinned
transformers wheel (its docstrings) plus a fixed multilingual seed, then turned into
tokenizer folders the way model authors make them: the slow-tokenizer files
(vocab.json + merges.txt, or a sentencepiece model) given to the transformers *Fast
class, whose converter (transformers.convert_slow_tokenizer) writes tokenizer.json with
the real post-processors, Precompiled charsmap and decoders; save_pretrained writes the
folder. Folders:

  bpe/roberta    RobertaTokenizerFast     ByteLevel, BPE, RobertaProcessing(trim_offsets)
  bpe/gpt2       GPT2TokenizerFast        ByteLevel, BPE, ByteLevel post-processor, pad=eos
  bpe/roberta-prefix RobertaTokenizerFast(add_prefix_space=True)
  bpe/gpt2-mismatch  bpe/gpt2 whose tokenizer.json says add_prefix_space=true and whose
                 config says nothing: transformers overrides the file (false)
  bpe/modernbert PreTrainedTokenizerFast  ByteLevel, BPE(ignore_merges), TemplateProcessing
  bpe/llama      LlamaTokenizerFast       sentencepiece BPE with byte_fallback (Metaspace)
  unigram/xlmr   XLMRobertaTokenizerFast  Precompiled(nmt_nfkc), Metaspace, Unigram
  unigram/debertav3 DebertaV2TokenizerFast Precompiled, Metaspace, Unigram
  unigram/t5     T5TokenizerFast          Precompiled, WhitespaceSplit+Metaspace, Unigram
  unigram/bytefb XLMRobertaTokenizerFast  Unigram trained with byte_fallback
  components/*   PreTrainedTokenizerFast  the remaining components, trained with tokenizers' own
                 trainers: WordLevel, WordPiece outside BERT's pipeline, BPE with
                 end_of_word_suffix / continuing_subword_prefix / unk, Nmt, Lowercase,
                 StripAccents, BertNormalizer, Replace(Regex), Prepend, Strip, ByteLevel
                 normalizer, Whitespace, WhitespaceSplit, Digits, Punctuation, Split, the
                 BPEDecoder, WordPiece, Strip and Replace decoders

Each also gets a "-slow" copy without tokenizer.json (what transformers converts itself).
OUT_DIR/stamp is written last.
"""
import glob
import json
import os
import shutil
import sys
import tempfile

import sentencepiece as spm
import transformers
from tokenizers import ByteLevelBPETokenizer, Tokenizer, decoders, pre_tokenizers, processors
from tokenizers import Regex, normalizers, trainers
from tokenizers.models import BPE, WordLevel, WordPiece
from transformers import (
    AddedToken,
    DebertaV2TokenizerFast,
    GPT2TokenizerFast,
    LlamaTokenizerFast,
    PreTrainedTokenizerFast,
    RobertaTokenizerFast,
    T5TokenizerFast,
    XLMRobertaTokenizerFast,
)

SEED = """Hello, world! How are you doing today? I've been waiting for a HuggingFace course my whole life.
Le café est très bon à Paris; naïve façade, jalapeño, Zürich, São Paulo, Ångström.
Der schnelle braune Fuchs springt über den faulen Hund. Straße, Größe, Übermut.
Быстрая коричневая лиса прыгает через ленивую собаку. Привет, мир!
Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο.
日本語のテキストです。東京は大きな都市です。今日は良い天気ですね。
中文文本，北京是中国的首都。我喜欢学习语言。
한국어 문장입니다. 서울은 큰 도시입니다.
هذا نص عربي. مرحبا بالعالم!
זהו טקסט בעברית. שלום עולם!
यह हिंदी पाठ है। नमस्ते दुनिया!
ภาษาไทยเป็นภาษาที่สวยงาม สวัสดีชาวโลก
Emoji: 😀 😃 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ and symbols ©®™ ½ ¼ ① ２０２４ ＡＢＣ ﬁ ﬀ …
E-mail me at john.doe@example.com or call +1 (555) 123-4567. Prices: $3.50, €4,99, ¥1000.
def f(x): return x**2 + 3*x - 1  # code, tabs\tand\nnewlines   multiple   spaces
"""

SPECIAL_ADDED = ["<ent>", AddedToken("<strip>", lstrip=True, rstrip=True, special=True, normalized=False)]
PLAIN_ADDED = ["hfpipe", AddedToken(" tokenizers", normalized=False), AddedToken("wordonly", single_word=True)]


def corpus_lines():
    """Docstrings of the pinned transformers' modeling files (deterministic) plus the seed."""
    root = os.path.dirname(transformers.__file__)
    files = sorted(glob.glob(os.path.join(root, "models", "*", "tokenization_*.py")))[:60]
    lines = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith(("import", "from")):
                    lines.append(line)
    seed = SEED.strip().split("\n")
    return seed * 20 + lines


def save(tok, out, name, slow_files):
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    tok.save_pretrained(d)
    if slow_files:
        s = d + "-slow"
        shutil.rmtree(s, ignore_errors=True)
        shutil.copytree(d, s)
        os.remove(os.path.join(s, "tokenizer.json"))


def byte_level_files(lines, tmp, vocab_size, specials):
    bl = ByteLevelBPETokenizer()
    bl.train_from_iterator(lines, vocab_size=vocab_size, min_frequency=2, special_tokens=specials)
    bl.save_model(tmp)
    return os.path.join(tmp, "vocab.json"), os.path.join(tmp, "merges.txt")


def spm_model(lines, tmp, name, model_type, vocab_size, **kw):
    txt = os.path.join(tmp, name + ".txt")
    with open(txt, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    prefix = os.path.join(tmp, name)
    spm.SentencePieceTrainer.train(
        input=txt, model_prefix=prefix, vocab_size=vocab_size, model_type=model_type,
        normalization_rule_name="nmt_nfkc", character_coverage=0.9995, num_threads=1,
        minloglevel=2, seed_sentencepiece_size=200000, shuffle_input_sentence=False, **kw)
    return prefix + ".model"


def main(out):
    os.makedirs(out, exist_ok=True)
    lines = corpus_lines()
    with tempfile.TemporaryDirectory() as tmp:
        # --- byte-level BPE ---
        vocab, merges = byte_level_files(lines, tmp, 3000, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
        tok = RobertaTokenizerFast(vocab_file=vocab, merges_file=merges, model_max_length=512)
        tok.add_tokens(PLAIN_ADDED)
        tok.add_special_tokens({"additional_special_tokens": SPECIAL_ADDED})
        save(tok, out, "bpe/roberta", True)

        g = os.path.join(tmp, "gpt2")
        os.makedirs(g)
        gv, gm = byte_level_files(lines, g, 2500, ["<|endoftext|>"])
        tok = GPT2TokenizerFast(vocab_file=gv, merges_file=gm, model_max_length=1024)
        tok.pad_token = tok.eos_token
        save(tok, out, "bpe/gpt2", True)
        d = os.path.join(out, "bpe/gpt2-mismatch")
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(os.path.join(out, "bpe/gpt2"), d)
        with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
            j = json.load(f)
        j["pre_tokenizer"]["add_prefix_space"] = True
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(j, f, ensure_ascii=False)
        with open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8") as f:
            c = json.load(f)
        c.pop("add_prefix_space", None)
        with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(c, f, ensure_ascii=False)

        tok = RobertaTokenizerFast(vocab_file=vocab, merges_file=merges, model_max_length=512, add_prefix_space=True)
        save(tok, out, "bpe/roberta-prefix", False)

        # ModernBERT-like: byte-level BPE without prefix space, ignore_merges,
        # [CLS] $A [SEP] template, its own special tokens.
        m = os.path.join(tmp, "mb")
        os.makedirs(m)
        mv, mm = byte_level_files(lines, m, 2800, ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"])
        bpe = BPE.from_file(mv, mm, ignore_merges=True)
        core = Tokenizer(bpe)
        core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        core.decoder = decoders.ByteLevel()
        cls, sep = core.token_to_id("[CLS]"), core.token_to_id("[SEP]")
        core.post_processor = processors.TemplateProcessing(
            single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
        tok = PreTrainedTokenizerFast(tokenizer_object=core, cls_token="[CLS]", sep_token="[SEP]",
                                      pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]",
                                      model_max_length=8192, clean_up_tokenization_spaces=True)
        save(tok, out, "bpe/modernbert", False)

        # Llama-like: sentencepiece BPE with byte_fallback.
        lm = spm_model(lines, tmp, "llama", "bpe", 1200, byte_fallback=True, split_digits=True)
        tok = LlamaTokenizerFast(vocab_file=lm, legacy=True, add_bos_token=True, model_max_length=2048)
        tok.pad_token = tok.unk_token
        save(tok, out, "bpe/llama", False)

        # --- Unigram ---
        um = spm_model(lines, tmp, "uni", "unigram", 2000)
        tok = XLMRobertaTokenizerFast(vocab_file=um, model_max_length=512)
        tok.add_tokens(PLAIN_ADDED)
        tok.add_special_tokens({"additional_special_tokens": SPECIAL_ADDED})
        save(tok, out, "unigram/xlmr", False)
        tok = DebertaV2TokenizerFast(vocab_file=um, model_max_length=512)
        save(tok, out, "unigram/debertav3", False)
        tok = T5TokenizerFast(vocab_file=um, model_max_length=512, extra_ids=0, legacy=True)
        save(tok, out, "unigram/t5", False)
        bm = spm_model(lines, tmp, "unibf", "unigram", 1500, byte_fallback=True)
        tok = XLMRobertaTokenizerFast(vocab_file=bm, model_max_length=512)
        save(tok, out, "unigram/bytefb", False)
        components(lines, out)
    with open(os.path.join(out, "stamp"), "w") as f:
        f.write("ok\n")


def wrap(core, out, name, **kw):
    tok = PreTrainedTokenizerFast(tokenizer_object=core, model_max_length=512, **kw)
    save(tok, out, name, False)


def components(lines, out):
    """Tokenizers built from the remaining components, trained on the same lines."""
    # WordLevel: Nmt, Lowercase, StripAccents, Replace(Regex), Strip; Whitespace + Digits.
    core = Tokenizer(WordLevel(unk_token="[UNK]"))
    core.normalizer = normalizers.Sequence([
        normalizers.Nmt(), normalizers.Lowercase(), normalizers.StripAccents(),
        normalizers.Replace(Regex(" {2,}"), " "), normalizers.Strip()])
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)])
    core.train_from_iterator(lines, trainers.WordLevelTrainer(vocab_size=1500, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[PAD]"]))
    core.post_processor = processors.BertProcessing(("[SEP]", core.token_to_id("[SEP]")), ("[CLS]", core.token_to_id("[CLS]")))
    core.decoder = decoders.Sequence([decoders.Replace("  ", " "), decoders.Strip(" ", 1, 1)])
    wrap(core, out, "components/wordlevel", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]")

    # WordPiece outside BERT's pipeline: BertNormalizer (cased) + Prepend, WhitespaceSplit,
    # Punctuation (contiguous), Digits (contiguous); WordPiece decoder.
    core = Tokenizer(WordPiece(unk_token="[UNK]", max_input_chars_per_word=30))
    core.normalizer = normalizers.Sequence([
        normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=False),
        normalizers.Replace("``", '"')])
    core.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation("contiguous"), pre_tokenizers.Digits(individual_digits=False)])
    core.train_from_iterator(lines, trainers.WordPieceTrainer(vocab_size=2000, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]))
    cls, sep = core.token_to_id("[CLS]"), core.token_to_id("[SEP]")
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    core.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    wrap(core, out, "components/wordpiece", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
         pad_token="[PAD]", mask_token="[MASK]")

    # BPE with end_of_word_suffix, unk and a ByteLevel normalizer; Split(String) pre-tokenizer.
    core = Tokenizer(BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    core.normalizer = normalizers.Sequence([normalizers.Prepend("_"), normalizers.Lowercase()])
    core.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", "removed"), pre_tokenizers.Split(Regex("[.,;:!?]+"), "isolated"),
        pre_tokenizers.Punctuation("merged_with_previous")])
    core.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=1800, end_of_word_suffix="</w>",
                                                        special_tokens=["<unk>", "<s>", "</s>", "<pad>"]))
    core.decoder = decoders.BPEDecoder(suffix="</w>")
    core.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> <s> $B:1 </s>:1",
        special_tokens=[("<s>", core.token_to_id("<s>")), ("</s>", core.token_to_id("</s>"))])
    wrap(core, out, "components/bpe-suffix", unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>")

    # BPE with continuing_subword_prefix; ByteLevel normalizer, WhitespaceSplit; ByteLevel decoder.
    core = Tokenizer(BPE(unk_token="<unk>", continuing_subword_prefix="##"))
    core.normalizer = normalizers.ByteLevel()
    core.pre_tokenizer = pre_tokenizers.Split(Regex("Ġ+"), "merged_with_next")
    core.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=1800, continuing_subword_prefix="##",
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                        special_tokens=["<unk>", "<pad>"]))
    core.decoder = decoders.Sequence([decoders.WordPiece(prefix="##", cleanup=False), decoders.ByteLevel()])
    wrap(core, out, "components/bpe-prefix", unk_token="<unk>", pad_token="<pad>")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
