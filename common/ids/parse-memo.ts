/**
 * The recent successful results of a pure identifier parser, by input string. Parsers
 * check every rule of an identifier (SPIFFE URI syntax, trust domain, city, name rules),
 * and the exchange path parses the same few ids several times per call on each node
 * (grant claims, receipt members, the caller's own ids); a parsed id is frozen and depends
 * on nothing but its text, so it can be handed out again. Inputs that fail are never
 * remembered: they are parsed (and refused, with their own `field`) every time. Bounded:
 * when full it starts over, so a stream of distinct ids costs memory only up to `max`.
 */
export class ParseMemo<T> {
  readonly #max: number;
  readonly #values = new Map<string, T>();

  constructor(max = 1024) {
    this.#max = max;
  }

  get(input: unknown): T | undefined {
    return typeof input === 'string' ? this.#values.get(input) : undefined;
  }

  /** Remembers `value` as what `input` parsed to; returns it. */
  remember(input: string, value: T): T {
    if (this.#values.size >= this.#max) this.#values.clear();
    this.#values.set(input, value);
    return value;
  }
}
