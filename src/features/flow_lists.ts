/**
 * The flow table's LRU lists: doubly linked lists of flow ids, least
 * recently seen at the head, so idle expiry and eviction cost O(1) per flow.
 * The links live in their own small array, apart from the flow rows: moving
 * a flow touches its neighbours' links, not their rows. Which list a flow is
 * on is kept by the caller (in the flow row, already in cache).
 */
import { NIL } from "./flow_layout.ts";

/** Several LRU lists over flow ids `0 .. capacity - 1`; list 0 means "on no list". */
export class FlowLists {
  /** prev at 2 * id, next at 2 * id + 1 (next also chains free ids). */
  readonly links: Int32Array;
  /** Oldest and newest flow of each list, NIL when empty. */
  readonly head: Int32Array;
  readonly tail: Int32Array;

  constructor(capacity: number, lists: number) {
    this.links = new Int32Array(capacity * 2);
    this.head = new Int32Array(lists + 1).fill(NIL);
    this.tail = new Int32Array(lists + 1).fill(NIL);
  }

  /** Puts `id` at the newest end of `list`. */
  append(id: number, list: number): void {
    const links = this.links;
    const tail = this.tail[list];
    links[2 * id] = tail;
    links[2 * id + 1] = NIL;
    if (tail !== NIL) links[2 * tail + 1] = id;
    else this.head[list] = id;
    this.tail[list] = id;
  }

  /** Takes `id` out of `list`. */
  unlink(id: number, list: number): void {
    const links = this.links;
    const before = links[2 * id], after = links[2 * id + 1];
    if (before !== NIL) links[2 * before + 1] = after;
    else this.head[list] = after;
    if (after !== NIL) links[2 * after] = before;
    else this.tail[list] = before;
  }

  /** Moves `id` to the newest end of its `list`. */
  touch(id: number, list: number): void {
    if (this.tail[list] === id) return;
    this.unlink(id, list);
    this.append(id, list);
  }

  /** The flow after `id` in its list (towards the newest), or NIL. */
  next(id: number): number {
    return this.links[2 * id + 1];
  }
}
