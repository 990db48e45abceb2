/**
 * Generated Greek "tweets" for the tokenizer tests that must run without the real data sets, and
 * the request texts of `pjrt-bert bench --serve` when no real tweets are at hand:
 * words written here (with accents, diaeresis, final sigma, capitals), mixed with Latin words,
 * hashtags, mentions, URLs, numbers, emoji and punctuation, in the proportions of real tweets.
 * Deterministic for a seed.
 */

const GREEK_WORDS = (
  'καλημέρα σήμερα αύριο χθες ωραία άσχημα πολύ λίγο καλός κακός ευχαριστώ παρακαλώ ' +
  'ναι όχι ίσως πάντα ποτέ εδώ εκεί σπίτι δουλειά σχολείο θάλασσα ήλιος βροχή καιρός ' +
  'κυβέρνηση βουλή εκλογές κόμμα υπουργός πρωθυπουργός οικονομία φόροι μισθοί συντάξεις ' +
  'ελπίδα φόβος αγάπη θυμός χαρά λύπη ντροπή ελευθερία δημοκρατία ψέματα αλήθεια ' +
  'ποδόσφαιρο ομάδα γκολ αγώνας νίκη ήττα παίκτης προπονητής τηλεόραση ειδήσεις εφημερίδα ' +
  'τραγούδι ταινία βιβλίο φίλος φίλη μητέρα πατέρας παιδιά άνθρωπος άνθρωποι κόσμος πόλη ' +
  'Αθήνα Θεσσαλονίκη Ελλάδα Ευρώπη Κρήτη νησί χωριό δρόμος αυτοκίνητο λεωφορείο μετρό ' +
  'πρωινό μεσημέρι βράδυ νύχτα εβδομάδα μήνας χρόνος Δευτέρα Παρασκευή Σάββατο Κυριακή ' +
  'προϋπόθεση προϊόν αϋπνία Ευβοϊκός ρολόι κοροϊδία πλάι τσάι ευτυχώς δυστυχώς ' +
  'είναι ήταν έχει έχουν θέλω θέλουμε μπορώ ξέρω λέει λένε κάνει κάνουμε πάμε έλα δες ' +
  'ο η το οι τα του της των και ή αλλά γιατί επειδή όταν όπως μετά πριν με σε για από'
).split(' ');

const LATIN_WORDS = 'ok lol fail live news update breaking win team love hate covid vote'.split(' ');
const EXTRAS = ['#εκλογές', '#Ελλάδα', '#GRGE', '@user_1', '@Υπουργός', 'https://t.co/AbC123xyz', '😀', '😡', '👍🏽', '🇬🇷', '12:30', '3,5%', '1.000', '2020', '!!!', '...', ';', '«', '»', '—', '(', ')', '?'];

/** A small seeded generator (a 32-bit LCG): the same texts on every machine. */
class Lcg {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    this.#state = (Math.imul(this.#state, 1664525) + 1013904223) >>> 0;
    return Math.floor((this.#state / 2 ** 32) * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** `word` as typed in a tweet: usually as is, sometimes capitalised or all capitals. */
function styled(word: string, random: Lcg): string {
  const roll = random.below(20);
  if (roll === 0) return word.toUpperCase(); // final ς becomes Σ: the word-final sigma rule
  if (roll < 4) return word[0]!.toUpperCase() + word.slice(1);
  return word;
}

/**
 * `count` generated tweets of 3 to 40 tokens (mean about 15), mostly Greek. Sync; never throws.
 */
export function generatedTweets(count: number, seed = 1): string[] {
  const random = new Lcg(seed);
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = 3 + random.below(12) + random.below(12) + random.below(14);
    const words: string[] = [];
    for (let j = 0; j < length; j++) {
      const roll = random.below(100);
      if (roll < 78) words.push(styled(random.pick(GREEK_WORDS), random));
      else if (roll < 86) words.push(random.pick(EXTRAS));
      else if (roll < 93) words.push(random.pick(LATIN_WORDS));
      else words.push(`${random.pick(GREEK_WORDS)}${random.pick([',', '.', '!', ';', ':', '…'])}`);
    }
    texts.push(words.join(random.below(30) === 0 ? '  ' : ' '));
  }
  return texts;
}
