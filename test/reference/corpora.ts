/**
 * Shared inputs of the tokenizer parity tests and bench: the Greek tweets of a real data
 * folder (see `dataDir` in python.ts), hard hand-written cases, the WordPiece vocabularies trained on the tweets
 * by `tokenizers` (test/reference/train_vocab.py), and the MiniLM model directory.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { readTable } from '../../lib/data/tables.js';
import { runPython } from './python.js';

/** The tweet files of a real data folder and the column of their text. */
export function tweetFiles(dir: string): { file: string; textColumn: string }[] {
  return [
    { file: path.join(dir, 'GRGE_sentiment.csv'), textColumn: 'Text' },
    { file: path.join(dir, 'offenseval-gr/offenseval-gr-training-v1.tsv'), textColumn: 'tweet' },
    { file: path.join(dir, 'offenseval-gr/offenseval-gr-test-v1.tsv'), textColumn: 'tweet' },
  ];
}

/** Every tweet text of the real data folder `dir`, in file order. Async; throws as `readTable`. */
export async function readAllTweets(dir: string): Promise<string[]> {
  const texts: string[] = [];
  for (const { file, textColumn } of tweetFiles(dir)) texts.push(...(await readTable(file, { textColumn })).texts);
  return texts;
}

/** Texts that exercise every rule of BERT's basic tokenization and WordPiece. */
export const hardCases: string[] = [
  '',
  ' ',
  '\t\n\r ',
  'Καλημέρα! Άλλος ΆΈΉΊΌΎΏ άέήίόύώ ΐΰ ϊϋ',
  'ΣΥΡΙΖΑΣ, ΟΔΟΣ. ΚΑΛΟΣ-ΚΑΚΟΣ Σ ΣΣ σΣ ΑΣ.Β ΑΣ\'Β ΑΣ:Β (ΝΟΜΟΣ)',
  'café naïve résumé Ångström façade ÉCOLE',
  'e\u0301 a\u0300\u0301 \u0301alone x\u0345 ᾼ ᾳ',
  'İstanbul ǅemal Straße ﬁne ﬃ ŉ',
  '😀 👍🏽 👨‍👩‍👧 🇬🇷 emoji😀inside',
  '中文字符 日本語テキスト 한국어 混合text中文',
  '\u{20000}\u{2A700}\u{2B820}\u{2B91F}\u{2B920} 丽 \uF900\uFA6D',
  'a\u0000b\u0001c\u200bd\ufffde\u0085f\u000bg\u2028h\u2029i\u00a0j\u3000k\u00adl\u200dm\ufeffn\u007fo',
  'https://t.co/gPgr1Caqxv?x=1&y=2#frag http://example.com/a_b-c.html',
  'a'.repeat(100),
  'a'.repeat(101),
  'Σ'.repeat(150),
  'αβγ'.repeat(40) + ' ok',
  '3.14159 1,000,000 12:30 1/2 50% $100 €20',
  '¿¡«»—–…“”‘’·;؟、。！？',
  '$+<=>^`|~ #hashtag @user_name_1 & * ( ) [ ] { }',
  '[CLS] hello [SEP] world [MASK] [UNK] [PAD]',
  'x[SEP]y [SEP][SEP] [sep] lowercase [MASK]ing',
  'नमस्ते दुनिया مرحبا بالعالم สวัสดีครับ Привет мир',
  '𝐀𝐁𝐂 ① ² ｆｕｌｌｗｉｄｔｈ ㄱ 한 ㈜',
  'U.S.A. don\'t it\'s rock\'n\'roll e-mail',
  'tab\tseparated\tvalues and\nnew\nlines',
  'unaffable unbelievably Antidisestablishmentarianism',
];

/** Ten texts per tweet file of the form `text` `pair` for the pair tests. */
export function pairCases(texts: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < texts.length && pairs.length < 300; i += 37) pairs.push([texts[i]!, texts[i + 1]!]);
  return pairs;
}

const vocabDirs = new Map<string, Promise<string>>();

/**
 * Trains (once per process and corpus) the uncased and the cased WordPiece vocabularies on a
 * corpus: the real data folder `{ dataDir }`, or generated texts `{ texts, name }`; returns the
 * folder holding `uncased/vocab.txt` and `cased/vocab.txt`. Async; rejects when the Python
 * reference fails.
 */
export function trainedVocabDir(corpus: { dataDir: string } | { texts: readonly string[]; name: string }): Promise<string> {
  const key = 'dataDir' in corpus ? `data:${corpus.dataDir}` : `texts:${corpus.name}`;
  let dir = vocabDirs.get(key);
  if (!dir) {
    dir = (async () => {
      const out = await mkdtemp(path.join(os.tmpdir(), 'pjrt-bert-vocab-'));
      let source: string;
      if ('dataDir' in corpus) source = corpus.dataDir;
      else {
        source = path.join(out, 'texts.jsonl');
        await writeFile(source, corpus.texts.map((text) => JSON.stringify(text)).join('\n'));
      }
      await runPython('train_vocab.py', [path.join(out, 'uncased'), 'uncased', source]);
      await runPython('train_vocab.py', [path.join(out, 'cased'), 'cased', source]);
      return out;
    })();
    vocabDirs.set(key, dir);
  }
  return dir;
}

let minilm: Promise<string> | undefined;

/** The installed all-MiniLM-L6-v2 model directory. Async; rejects when it is not installed. */
export function miniLmDir(): Promise<string> {
  minilm ??= runPython('minilm_dir.py').then((out) => out.trim());
  return minilm;
}
