// A job's tokenizer as llama.cpp reads it from a GGUF file (the
// tokenizer.ggml.* keys), so that llama.cpp tokenizes the corpus to the ids
// kdnas trained on.
//
// kdnas's own tokenizers become llama.cpp "gpt2" (byte-level BPE) vocabularies
// with the same ids:
//  - byte: 256 tokens, token b the byte-level character of byte b, no merges:
//    llama.cpp splits any text into its bytes;
//  - char: one token per character, the byte-level form of its UTF-8, and for
//    each character of two or more bytes the merges that join its bytes in
//    order (llama.cpp ranks a merge by its two strings, which need not be
//    tokens themselves). UTF-8 being prefix-free, merges never join bytes of
//    different characters, so every character becomes its own token.
// Neither has BOS or EOS: add_bos_token is false, and llama.cpp's default
// BPE special id 11 stays its end-of-generation token (a generation that
// should run to its length samples past it).
//
// An imported byte-level BPE tokenizer (tokenizer.json, or vocab.json and
// merges.txt) is written as convert_hf_to_gguf.py writes it: its vocabulary
// and merges, added tokens as control (special) or user-defined tokens,
// ids up to the model's vocabulary padded with unused "[PAD<id>]" tokens,
// its BOS (added when it adds one) and EOS, and llama.cpp's name of its
// pre-tokenizer ("gpt-2", "llama-bpe", "qwen2", "smollm"); another
// pre-tokenizer is FAILED_PRECONDITION.
//
// An imported SentencePiece tokenizer (tokenizer.model, Llama 2's kind) is
// written for llama.cpp's "llama" tokenizer model: pieces, scores and piece
// types, its BOS/EOS/<unk> ids and whether it adds them, and
// add_space_prefix; a Unigram model or a normalizer that does more than
// llama.cpp's (a character map, removal of extra whitespace) is
// FAILED_PRECONDITION with the reason.
#pragma once

#include "formats/gguf_file.h"
#include "formats/job_tokenizer.h"
#include "search/status.h"

namespace kdnas {

// The tokenizer.ggml.* metadata of `tokenizer`. FAILED_PRECONDITION for a
// tokenizer llama.cpp would not reproduce: a BPE pre-tokenizer it has no
// name for, a SentencePiece model it does not run as the library does.
StatusOr<GgufMetadata> GgufTokenizerMetadata(const JobTokenizer& tokenizer);

}  // namespace kdnas
