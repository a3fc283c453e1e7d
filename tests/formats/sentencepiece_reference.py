"""The reference for sentencepiece_tokenizer_test: trains small SentencePiece
models on a slice of the bundled corpus with the sentencepiece library
(Debian's python3-sentencepiece) and writes what its own encoder and decoder
give for each test text.

    /usr/bin/python3 sentencepiece_reference.py CORPUS SLICE_BYTES OUT_DIR CASES_JSON

CASES_JSON is a JSON list of texts. Writes OUT_DIR/<model>.model and
OUT_DIR/reference.json: {model: {"piece_size", "ids", "ids_nodummy",
"decoded"}}, where ids_nodummy are the ids with the normalizer's
add_dummy_prefix turned off, as transformers' LlamaTokenizer(legacy=False)
does it (a NormalizerSpec with add_dummy_prefix false merged into the proto).
"""
import json
import os
import sys

import sentencepiece as spm

# Llama 2's trainer spec (its tokenizer.model's trainer_spec), at a small vocabulary.
LLAMA2_LIKE = dict(
    model_type="bpe",
    vocab_size=1000,
    byte_fallback=True,
    split_digits=True,
    unk_id=0,
    bos_id=1,
    eos_id=2,
    pad_id=-1,
    allow_whitespace_only_pieces=True,
    normalization_rule_name="identity",
    add_dummy_prefix=True,
    remove_extra_whitespaces=False,
    character_coverage=0.99995,
    max_sentencepiece_length=16,
    split_by_unicode_script=True,
    split_by_number=True,
    split_by_whitespace=True,
)
MODELS = {
    "bpe": LLAMA2_LIKE,
    # A T5-style Unigram model: nmt_nfkc rules, extra whitespace removed, no
    # byte fallback (unknown characters are <unk>), user-defined symbols.
    "unigram": dict(
        model_type="unigram",
        vocab_size=800,
        user_defined_symbols=["<user>", "[SEP]", "ab"],
        character_coverage=0.995,
    ),
    # Unigram with byte fallback and Llama's normalizer.
    "unigram_bytes": dict(
        model_type="unigram",
        vocab_size=800,
        byte_fallback=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True,
        split_digits=True,
    ),
}
# ModelProto field 3 (normalizer_spec) holding field 3 (add_dummy_prefix) = 0;
# protobuf merges a repeated message field into the first.
NO_DUMMY_PREFIX = b"\x1a\x02\x18\x00"


def main():
    corpus, slice_bytes, out_dir, cases_path = sys.argv[1:5]
    with open(corpus, "rb") as f:
        text = f.read(int(slice_bytes)).decode("utf-8", errors="ignore")
    train_path = os.path.join(out_dir, "train.txt")
    with open(train_path, "w", encoding="utf-8") as f:
        f.write(text)
    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    reference = {}
    for name, options in MODELS.items():
        prefix = os.path.join(out_dir, name)
        spm.SentencePieceTrainer.train(
            input=train_path, model_prefix=prefix, num_threads=1, minloglevel=2, **options
        )
        with open(prefix + ".model", "rb") as f:
            proto = f.read()
        sp = spm.SentencePieceProcessor(model_proto=proto)
        nodummy = spm.SentencePieceProcessor(model_proto=proto + NO_DUMMY_PREFIX)
        ids = [sp.encode(c) for c in cases]
        reference[name] = {
            "piece_size": sp.get_piece_size(),
            "ids": ids,
            "ids_nodummy": [nodummy.encode(c) for c in cases],
            "decoded": [sp.decode(i) for i in ids],
        }
    with open(os.path.join(out_dir, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f)


if __name__ == "__main__":
    main()
