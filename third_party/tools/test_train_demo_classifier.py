"""Unit tests of train_demo_classifier.py's data handling (no model, no download)."""
import io
import json
import tarfile

import pytest

import train_demo_classifier as T


def test_decontaminate_drops_equal_and_overlapping_sentences():
    train = [{"text": t} for t in [
        "I HATE this so much !",                        # the course sentence, other case and spacing
        "Honestly, I hate this so much that it hurts.",  # shares "i hate this so"
        "I hate this movie",                             # 3 words in a row only: kept
        "A fine film.",
    ]]
    kept, dropped = T.decontaminate(train, T.COURSE)
    assert [e["text"] for e in kept] == ["I hate this movie", "A fine film."]
    assert len(dropped) == 2


def test_words_keep_contractions():
    assert T.words("I've been waiting, haven't I?") == ["i've", "been", "waiting", "haven't", "i"]


def test_heldout_rows_are_checked(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_text(json.dumps({"text": "ok", "label": "POSITIVE"}) + "\n\n" + json.dumps({"text": "x", "label": "GOOD"}) + "\n")
    with pytest.raises(SystemExit, match="h.jsonl:3"):
        T.load_heldout(str(p))


def test_sdist_hash_is_checked(tmp_path):
    p = tmp_path / "vaderSentiment-3.3.2.tar.gz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz"):
        pass
    p.write_bytes(buf.getvalue())
    with pytest.raises(SystemExit, match="sha256"):
        list(T.read_rated_sentences(str(p)))


def test_checked_in_heldout_set_is_balanced_and_holds_no_course_sentence():
    rows = T.load_heldout(T.os.path.join(T.REPO_ROOT, "third_party", "demo", "heldout_sentiment.jsonl"))
    assert len(rows) >= 100
    pos = sum(r["label"] == "POSITIVE" for r in rows)
    assert pos == len(rows) - pos
    texts = {" ".join(T.words(r["text"])) for r in rows}
    assert len(texts) == len(rows), "no duplicates"
    assert not texts & {" ".join(T.words(c)) for c in T.COURSE}
