// ILIKE on Postgres without trusting the database's case rules: the value is mapped with
// `translate()` by the engine's own folding (foldCodePoint), the pattern is folded in JS,
// and a case-sensitive LIKE compares them. Only the characters that matter to one pattern
// are mapped, so `translate` stays cheap.
import {foldCodePoint} from '../ivm/like.ts';

/** Cased characters all lie below U+20000 (Unicode 16); higher code points fold to themselves. */
const LAST_CASED = 0x1ffff;

let inverse: Map<number, number[]> | undefined;

/** Folded code point → the code points (other than itself) that fold onto it. */
function foldInverse(): Map<number, number[]> {
  if (inverse) return inverse;
  const map = new Map<number, number[]>();
  for (let cp = 0; cp <= LAST_CASED; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const f = foldCodePoint(cp);
    if (f === cp) continue;
    const list = map.get(f);
    if (list) list.push(cp);
    else map.set(f, [cp]);
  }
  inverse = map;
  return map;
}

/**
 * The `translate(value, from, to)` arguments that give, for every character that folds to
 * or is one of `literals` (folded pattern characters), its folded form. A character left
 * alone folds to neither side of any literal, so it matches no literal before or after.
 */
export function foldTranslation(literals: Iterable<number>): {from: string; to: string} {
  const inv = foldInverse();
  const from: number[] = [];
  const to: number[] = [];
  const seen = new Set<number>();
  const add = (cp: number) => {
    if (seen.has(cp)) return;
    seen.add(cp);
    const f = foldCodePoint(cp);
    if (f !== cp) {
      from.push(cp);
      to.push(f);
    }
  };
  for (const lit of literals) {
    add(lit);
    for (const cp of inv.get(lit) ?? []) add(cp);
  }
  return {from: String.fromCodePoint(...from), to: String.fromCodePoint(...to)};
}
