// The last N items of a stream, newest first, each kept once by its key: the client's
// memory stays bounded however long the page stays open, and an event the API sends
// again (the tail resends its last seconds after a reconnect) is shown once.

export class KeyedRing<T> {
  private readonly items: T[] = [];
  private readonly keys = new Set<string>();

  constructor(
    readonly capacity: number,
    private readonly keyOf: (item: T) => string,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  get size(): number {
    return this.items.length;
  }

  /** Adds `item` as the newest; false (and nothing changes) when its key is already kept. */
  push(item: T): boolean {
    const key = this.keyOf(item);
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    this.items.push(item);
    if (this.items.length > this.capacity) {
      const oldest = this.items.shift() as T;
      this.keys.delete(this.keyOf(oldest));
    }
    return true;
  }

  /** A copy, newest first. */
  newestFirst(): T[] {
    return this.items.slice().reverse();
  }
}

/** `list` with `item` appended, keeping only the last `capacity` items. */
export function appendBounded<T>(list: readonly T[], item: T, capacity: number): T[] {
  const next = list.length >= capacity ? list.slice(list.length - capacity + 1) : list.slice();
  next.push(item);
  return next;
}
