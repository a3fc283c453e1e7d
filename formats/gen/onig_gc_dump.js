// Prints, for every Unicode scalar value, the general category that the
// reference (Hugging Face tokenizers, whose Split patterns run on
// Oniguruma) gives it, as "hex gc" lines. Used by gen_onig_unicode.sh.
//   NODE_PATH=deploy/npm/node_modules node formats/gen/onig_gc_dump.js
'use strict';
const {Tokenizer} = require('tokenizers');

const kCategories = ['Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Mn', 'Mc', 'Me', 'Nd', 'Nl', 'No', 'Pc', 'Pd',
  'Ps', 'Pe', 'Pi', 'Pf', 'Po', 'Sm', 'Sc', 'Sk', 'So', 'Zs', 'Zl', 'Zp', 'Cc', 'Cf', 'Co'];

// A tokenizer whose pre-tokenizer removes what `pattern` matches.
function remover(pattern) {
  const json = {
    version: '1.0', added_tokens: [], normalizer: null, post_processor: null, decoder: null,
    pre_tokenizer: {type: 'Split', pattern: {Regex: pattern}, behavior: 'Removed', invert: false},
    model: {type: 'BPE', dropout: null, unk_token: null, vocab: {}, merges: []},
  };
  return Tokenizer.fromString(JSON.stringify(json)).getPreTokenizer();
}

const scalars = [];
for (let c = 0; c <= 0x10ffff; c++) {
  if (c < 0xd800 || c > 0xdfff) scalars.push(c);
}
const category = new Map();
for (const gc of kCategories) {
  const pre = remover(`\\p{${gc}}`);
  const kept = new Set();
  for (let i = 0; i < scalars.length; i += 20000) {
    const text = String.fromCodePoint(...scalars.slice(i, i + 20000));
    for (const [piece] of pre.preTokenizeString(text)) {
      for (const ch of piece) kept.add(ch.codePointAt(0));
    }
  }
  for (const c of scalars) {
    if (!kept.has(c)) category.set(c, gc);
  }
}
const lines = [];
for (const c of scalars) lines.push(`${c.toString(16)} ${category.get(c) || 'Cn'}`);
process.stdout.write(lines.join('\n') + '\n');
