/**
 * Seeded host-side initialisation of parameters, as Hugging Face's `_init_weights` does it:
 * normal(0, std) for Linear and Embedding weights, zeros for biases, ones for LayerNorm
 * weights. The generator is xoshiro128** seeded through splitmix32, with Box-Muller normals,
 * so one seed gives the same parameters on every machine (not the same numbers as torch).
 */

/** A deterministic source of uniform and normal numbers. */
export class SeededRandom {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  #spareNormal: number | undefined;

  /** A generator for `seed` (any integer; 53-bit seeds are mixed in full). Sync; never throws. */
  constructor(seed: number) {
    let state = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    const next = (): number => {
      // splitmix32
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
  }

  /** The next 32 random bits as an unsigned integer (xoshiro128**). Sync; never throws. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** A uniform number in (0, 1) (never exactly 0 or 1). Sync; never throws. */
  uniform(): number {
    return (this.nextUint32() + 0.5) / 2 ** 32;
  }

  /** A standard normal number (Box-Muller, both values used). Sync; never throws. */
  normal(): number {
    if (this.#spareNormal !== undefined) {
      const spare = this.#spareNormal;
      this.#spareNormal = undefined;
      return spare;
    }
    const radius = Math.sqrt(-2 * Math.log(this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.#spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** A fresh 32-bit seed drawn from this generator (to derive independent streams). Sync. */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** `count` values drawn from normal(0, std) as f32. Sync; never throws. */
export function normalValues(count: number, std: number, random: SeededRandom): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = random.normal() * std;
  return out;
}

/** `count` copies of `value` as f32. Sync; never throws. */
export function constantValues(count: number, value: number): Float32Array {
  return new Float32Array(count).fill(value);
}

/**
 * `count` values drawn from normal(0, std) truncated to [-cutoff * std, cutoff * std], as f32
 * (`torch.nn.init.trunc_normal_(w, 0, std, -cutoff * std, cutoff * std)`: the same
 * distribution, drawn here by rejection). Sync; throws RangeError unless `cutoff` > 0.
 */
export function truncatedNormalValues(count: number, std: number, cutoff: number, random: SeededRandom): Float32Array {
  if (!(cutoff > 0)) throw new RangeError(`truncatedNormalValues: the cutoff must be positive, got ${cutoff}`);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let value = random.normal();
    while (Math.abs(value) > cutoff) value = random.normal();
    out[i] = value * std;
  }
  return out;
}
