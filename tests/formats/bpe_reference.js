// The reference for tests/formats/bpe_tokenizer_test.cc: Hugging Face's own
// tokenizers library (the npm package "tokenizers", its Rust core through
// N-API), installed in deploy/npm by deploy/install-deps.sh.
//
//   node bpe_reference.js make CORPUS EXTRA OUT_DIR
//     trains small byte-level BPE tokenizers on CORPUS (+ EXTRA, repeated),
//     configured like GPT-2, Llama-3, Qwen2 and SmolLM, and writes each as
//     OUT_DIR/<name>/tokenizer.json, plus GPT-2's vocabulary as
//     OUT_DIR/gpt2_files/{vocab.json,merges.txt} with the tokenizer.json that
//     Hugging Face builds from those two files (reference.json).
//   node bpe_reference.js encode TOKENIZER_JSON INPUTS_JSON OUT_JSON
//     encodes each string of INPUTS_JSON (a JSON array) with
//     add_special_tokens false and true, decodes the former, and times
//     encoding the first input (MB/s).
//   node bpe_reference.js classes PATTERNS_JSON OUT_JSON
//     for each single-character regex of PATTERNS_JSON, the code points that a
//     Split pre-tokenizer with it matches, as [first, last] ranges (what
//     tests/formats/onig_pattern_test.cc checks kdnas's PCRE2 form against).
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const {Tokenizer, BPE, byteLevelPreTokenizer, byteLevelAlphabet} = require('tokenizers');

const kGpt2Pattern = null;  // ByteLevel's own regex
const kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const byteLevel = (addPrefixSpace, useRegex) =>
    ({type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: useRegex});
const split = (pattern) =>
    ({type: 'Split', pattern: {Regex: pattern}, behavior: 'Isolated', invert: false});
const added = (id, content, extra = {}) => Object.assign(
    {id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true},
    extra);

function emptyTokenizer(normalizer, preTokenizer) {
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer,
    pre_tokenizer: preTokenizer, post_processor: null, decoder: byteLevel(true, true),
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
      end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: {}, merges: [],
    },
  };
}

// Trains with the library's default BPE trainer and returns its merges as
// pairs, in rank order.
function trainMerges(normalizer, preTokenizer, files, tmp) {
  const tokenizer = Tokenizer.fromString(JSON.stringify(emptyTokenizer(normalizer, preTokenizer)));
  tokenizer.train(files);
  const out = path.join(tmp, 'trained.json');
  tokenizer.save(out);
  return JSON.parse(fs.readFileSync(out, 'utf8')).model.merges.map(
      (m) => (typeof m === 'string' ? m.split(' ') : m));
}

// GPT-2's byte order: the printable bytes, then the rest.
function byteAlphabet() {
  const printable = (b) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
  const order = [];
  for (let b = 0; b < 256; b++) if (printable(b)) order.push(b);
  for (let b = 0; b < 256; b++) if (!printable(b)) order.push(b);
  let next = 0x100;
  const charOf = {};
  for (let b = 0; b < 256; b++) charOf[b] = printable(b) ? String.fromCodePoint(b) : String.fromCodePoint(next++);
  const alphabet = order.map((b) => charOf[b]);
  if (new Set(alphabet).size !== 256 || alphabet.some((c) => !byteLevelAlphabet().includes(c))) {
    throw new Error('byte alphabet mismatch');
  }
  return alphabet;
}

// The byte alphabet and the first merges, up to `size` tokens; `unreachable`
// more merge results are put in the vocabulary without their merges (tokens
// only ignore_merges can produce).
function truncate(merges, size, unreachable = 0) {
  const vocab = {};
  let n = 0;
  for (const c of byteAlphabet()) vocab[c] = n++;
  const kept = [];
  let i = 0;
  for (; i < merges.length && n < size; i++) {
    const [a, b] = merges[i];
    if (!(a in vocab) || !(b in vocab)) continue;
    kept.push([a, b]);
    if (!((a + b) in vocab)) vocab[a + b] = n++;
  }
  for (let extra = 0; i < merges.length && extra < unreachable; i++) {
    const merged = merges[i][0] + merges[i][1];
    if (!(merged in vocab)) {
      vocab[merged] = n++;
      extra++;
    }
  }
  return {vocab, merges: kept, size: n};
}

function model(vocab, merges, extra = {}) {
  return Object.assign({
    type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null,
    end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false,
    vocab, merges,
  }, extra);
}

function write(dir, name, json) {
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(path.join(dir, name), JSON.stringify(json, null, 1));
}

async function make(corpus, extra, outDir) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kdnas-bpe-'));
  const extraRepeated = path.join(tmp, 'extra.txt');
  fs.writeFileSync(extraRepeated, fs.readFileSync(extra, 'utf8').repeat(40));
  const files = [corpus, extraRepeated];
  const nfc = {type: 'NFC'};

  // GPT-2: ByteLevel with its regex; <|endoftext|> last in the vocabulary;
  // merges in the legacy "a b" form.
  {
    const t = truncate(trainMerges(null, byteLevel(false, true), files, tmp), 1500);
    const eot = t.size;
    t.vocab['<|endoftext|>'] = eot;
    const json = emptyTokenizer(null, byteLevel(false, true));
    json.added_tokens = [added(eot, '<|endoftext|>', {normalized: true})];
    json.post_processor = {type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true};
    json.model = model(t.vocab, t.merges.map(([a, b]) => `${a} ${b}`),
                       {continuing_subword_prefix: '', end_of_word_suffix: ''});
    write(path.join(outDir, 'gpt2'), 'tokenizer.json', json);
    // The same with add_prefix_space and merges as pairs.
    json.pre_tokenizer = byteLevel(true, true);
    json.model.merges = t.merges;
    write(path.join(outDir, 'gpt2_prefix'), 'tokenizer.json', json);

    // vocab.json + merges.txt, and what Hugging Face makes of them.
    const dir = path.join(outDir, 'gpt2_files');
    write(dir, 'vocab.json', t.vocab);
    fs.writeFileSync(path.join(dir, 'merges.txt'),
                     '#version: 0.2\n' + t.merges.map(([a, b]) => `${a} ${b}\n`).join(''));
    const bpe = await BPE.fromFile(path.join(dir, 'vocab.json'), path.join(dir, 'merges.txt'));
    const fromFiles = new Tokenizer(bpe);
    fromFiles.setPreTokenizer(byteLevelPreTokenizer(false, true));
    fromFiles.addSpecialTokens(['<|endoftext|>']);
    const saved = path.join(tmp, 'from_files.json');
    fromFiles.save(saved);
    const ref = JSON.parse(fs.readFileSync(saved, 'utf8'));
    ref.decoder = byteLevel(true, true);
    fs.writeFileSync(path.join(dir, 'reference.json'), JSON.stringify(ref));
  }

  // Llama-3: Split (Llama-3's pattern, Isolated) then ByteLevel without its
  // regex; ignore_merges; special tokens after the vocabulary; the BOS by
  // TemplateProcessing.
  {
    const pre = {type: 'Sequence', pretokenizers: [split(kLlama3Pattern), byteLevel(false, false)]};
    const t = truncate(trainMerges(null, pre, files, tmp), 1800, 200);
    const specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|reserved_special_token_0|>',
                      '<|reserved_special_token_1|>', '<|start_header_id|>', '<|end_header_id|>',
                      '<|eot_id|>'];
    const json = emptyTokenizer(null, pre);
    json.added_tokens = specials.map((s, k) => added(t.size + k, s));
    const bos = t.size;
    json.post_processor = {
      type: 'Sequence',
      processors: [
        {type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true},
        {
          type: 'TemplateProcessing',
          single: [{SpecialToken: {id: '<|begin_of_text|>', type_id: 0}}, {Sequence: {id: 'A', type_id: 0}}],
          pair: [{SpecialToken: {id: '<|begin_of_text|>', type_id: 0}}, {Sequence: {id: 'A', type_id: 0}},
                 {SpecialToken: {id: '<|begin_of_text|>', type_id: 1}}, {Sequence: {id: 'B', type_id: 1}}],
          special_tokens: {'<|begin_of_text|>': {id: '<|begin_of_text|>', ids: [bos], tokens: ['<|begin_of_text|>']}},
        },
      ],
    };
    json.model = model(t.vocab, t.merges, {ignore_merges: true});
    const dir = path.join(outDir, 'llama3');
    write(dir, 'tokenizer.json', json);
    write(dir, 'tokenizer_config.json', {bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>',
                                         tokenizer_class: 'PreTrainedTokenizerFast'});
  }

  // Qwen2: NFC, Split (Qwen2's pattern: single digits) then ByteLevel; a
  // normalized added token written in NFD.
  {
    const pre = {type: 'Sequence', pretokenizers: [split(kQwen2Pattern), byteLevel(false, false)]};
    const t = truncate(trainMerges(nfc, pre, files, tmp), 1600);
    const json = emptyTokenizer(nfc, pre);
    json.added_tokens = [added(t.size, '<|endoftext|>'), added(t.size + 1, '<|im_start|>'),
                         added(t.size + 2, '<|im_end|>'),
                         added(t.size + 3, 'cafe\u0301', {normalized: true, special: false})];
    json.post_processor = {type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false};
    json.model = model(t.vocab, t.merges);
    const dir = path.join(outDir, 'qwen2');
    write(dir, 'tokenizer.json', json);
    write(dir, 'tokenizer_config.json', {add_bos_token: false, bos_token: null, eos_token: '<|im_end|>'});
  }

  // SmolLM: Digits (one by one) then ByteLevel with its regex; special
  // tokens at the start of the vocabulary; tokens with lstrip, rstrip and
  // single_word.
  {
    const pre = {type: 'Sequence', pretokenizers: [{type: 'Digits', individual_digits: true}, byteLevel(false, true)]};
    const t = truncate(trainMerges(null, pre, files, tmp), 1400);
    const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
    const vocab = {};
    specials.forEach((s, k) => { vocab[s] = k; });
    for (const [token, id] of Object.entries(t.vocab)) vocab[token] = id + specials.length;
    const n = t.size + specials.length;
    const json = emptyTokenizer(null, pre);
    json.added_tokens = specials.map((s, k) => added(k, s)).concat([
      added(n, '<mask>', {lstrip: true}),
      added(n + 1, '<sep>', {rstrip: true}),
      added(n + 2, 'ROMEO', {single_word: true, special: false}),
    ]);
    json.post_processor = {type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true};
    json.model = model(vocab, t.merges);
    write(path.join(outDir, 'smollm'), 'tokenizer.json', json);
  }
  fs.rmSync(tmp, {recursive: true, force: true});
}

async function encode(tokenizerJson, inputsJson, outJson) {
  const tokenizer = Tokenizer.fromFile(tokenizerJson);
  const inputs = JSON.parse(fs.readFileSync(inputsJson, 'utf8'));
  const results = [];
  for (const text of inputs) {
    const plain = await tokenizer.encode(text, null, {addSpecialTokens: false});
    const special = await tokenizer.encode(text, null, {addSpecialTokens: true});
    const ids = plain.getIds();
    results.push({ids, ids_special: special.getIds(), decoded: await tokenizer.decode(ids, false)});
  }
  let mb_per_s = 0;
  if (inputs.length > 0) {
    const bytes = Buffer.byteLength(inputs[0]);
    const runs = 3;
    const start = process.hrtime.bigint();
    for (let r = 0; r < runs; r++) await tokenizer.encode(inputs[0], null, {addSpecialTokens: false});
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    mb_per_s = (bytes * runs) / 1e6 / seconds;
  }
  fs.writeFileSync(outJson, JSON.stringify({results, mb_per_s}));
}

async function classes(patternsJson, outJson) {
  const scalars = [];
  for (let c = 0; c <= 0x10ffff; c++) if (c < 0xd800 || c > 0xdfff) scalars.push(c);
  const out = [];
  for (const pattern of JSON.parse(fs.readFileSync(patternsJson, 'utf8'))) {
    const json = emptyTokenizer(null, {type: 'Split', pattern: {Regex: pattern}, behavior: 'Removed', invert: false});
    const pre = Tokenizer.fromString(JSON.stringify(json)).getPreTokenizer();
    const kept = new Set();
    for (let i = 0; i < scalars.length; i += 20000) {
      const text = String.fromCodePoint(...scalars.slice(i, i + 20000));
      for (const [piece] of pre.preTokenizeString(text)) for (const ch of piece) kept.add(ch.codePointAt(0));
    }
    const ranges = [];
    for (const c of scalars) {
      if (kept.has(c)) continue;
      const last = ranges[ranges.length - 1];
      if (last && last[1] + 1 === c) last[1] = c; else ranges.push([c, c]);
    }
    out.push(ranges);
  }
  fs.writeFileSync(outJson, JSON.stringify(out));
}

const [command, ...args] = process.argv.slice(2);
const commands = {make: [make, 3], encode: [encode, 3], classes: [classes, 2]};
const [run, arity] = commands[command] || [null, 0];
if (run === null || args.length !== arity) {
  console.error('usage: bpe_reference.js make CORPUS EXTRA OUT_DIR | encode TOKENIZER INPUTS OUT | classes PATTERNS OUT');
  process.exit(2);
}
run(...args).catch((e) => {
  console.error(e);
  process.exit(1);
});
