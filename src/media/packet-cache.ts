// A bounded FIFO ring of sent packets keyed by (ssrc, seq), to answer NACKs with the exact bytes
// that went out. Capped in packets and in bytes; the oldest entries go first. A sequence number
// that comes round again (after 65536 packets) replaces the older entry for that key.

/** PacketCacheOptions caps a cache in packets and in bytes. */
export interface PacketCacheOptions {
  maxPackets: number;
  maxBytes: number;
}

function keyOf(ssrc: number, seq: number): number {
  return (ssrc >>> 0) * 0x10000 + (seq & 0xffff); // < 2^48: exact in a double
}

/** PacketCache stores recently sent packets for retransmission. */
export class PacketCache {
  private readonly ring: (Uint8Array | null)[];
  private readonly keys: Float64Array;
  private readonly index = new Map<number, number>();
  private readonly maxBytes: number;
  // Slots [tail, tail + span) (mod capacity) are in use, oldest first; a slot whose key was
  // stored again later is a null "hole" inside that span until the tail passes it.
  private tail = 0;
  private span = 0;
  private count = 0;
  private bytesUsed = 0;

  constructor(opts: PacketCacheOptions) {
    if (!(opts.maxPackets >= 1) || !(opts.maxBytes >= 1)) throw new RangeError("PacketCache: caps must be positive");
    this.ring = new Array<Uint8Array | null>(opts.maxPackets).fill(null);
    this.keys = new Float64Array(opts.maxPackets);
    this.maxBytes = opts.maxBytes;
  }

  /** size is the number of packets held. */
  get size(): number {
    return this.count;
  }

  /** bytes is the total size of the packets held. */
  get bytes(): number {
    return this.bytesUsed;
  }

  /** put stores a packet (not copied: the caller must not mutate it afterwards); a packet over the byte cap is not stored. */
  put(ssrc: number, seq: number, packet: Uint8Array): void {
    const key = keyOf(ssrc, seq);
    const old = this.index.get(key);
    if (old !== undefined) this.remove(old); // stale either way: never answer with an older packet
    if (packet.length > this.maxBytes) return;
    if (this.span === this.ring.length) this.advanceTail();
    while (this.bytesUsed + packet.length > this.maxBytes) this.evictOldest();
    const slot = (this.tail + this.span) % this.ring.length;
    this.ring[slot] = packet;
    this.keys[slot] = key;
    this.index.set(key, slot);
    this.span++;
    this.count++;
    this.bytesUsed += packet.length;
  }

  /** get returns the packet last stored for (ssrc, seq), or null if evicted or never stored. */
  get(ssrc: number, seq: number): Uint8Array | null {
    const slot = this.index.get(keyOf(ssrc, seq));
    return slot === undefined ? null : this.ring[slot]!;
  }

  private evictOldest(): void {
    while (this.span > 0) {
      if (this.advanceTail()) return;
    }
  }

  /** Frees the oldest slot; true if it held a packet (false for a hole). */
  private advanceTail(): boolean {
    const slot = this.tail;
    this.tail = (this.tail + 1) % this.ring.length;
    this.span--;
    return this.remove(slot);
  }

  private remove(slot: number): boolean {
    const pkt = this.ring[slot];
    if (!pkt) return false;
    this.index.delete(this.keys[slot]!);
    this.ring[slot] = null;
    this.bytesUsed -= pkt.length;
    this.count--;
    return true;
  }
}
