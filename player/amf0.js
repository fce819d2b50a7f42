// AMF0 (the values of FLV script data): what a publisher's in-band data
// carries, e.g. "onTextData" {text: "...", trackid: 1} or "onCuePoint"
// {name, time, type, parameters}. decodeData() reads the name and the
// value after it; anything malformed throws.

const MAX_DEPTH = 16;

class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.p = 0;
  }

  need(n) { if (this.p + n > this.b.length) throw new Error('AMF0: truncated'); }
  u8() { this.need(1); return this.b[this.p++]; }
  u16() { this.need(2); const x = this.v.getUint16(this.p); this.p += 2; return x; }
  u32() { this.need(4); const x = this.v.getUint32(this.p); this.p += 4; return x; }
  f64() { this.need(8); const x = this.v.getFloat64(this.p); this.p += 8; return x; }

  str(n) {
    this.need(n);
    const s = new TextDecoder().decode(this.b.subarray(this.p, this.p + n));
    this.p += n;
    return s;
  }

  // key/value pairs up to the empty key and the object-end marker (9)
  props(into, depth) {
    for (;;) {
      const key = this.str(this.u16());
      if (key === '' && this.b[this.p] === 9) { this.p++; return into; }
      into[key] = this.value(depth + 1);
    }
  }

  value(depth = 0) {
    if (depth > MAX_DEPTH) throw new Error('AMF0: nested too deep');
    const type = this.u8();
    switch (type) {
      case 0: return this.f64();
      case 1: return this.u8() !== 0;
      case 2: return this.str(this.u16());
      case 3: return this.props({}, depth);
      case 5: return null;
      case 6: return undefined;
      case 8: this.u32(); return this.props({}, depth);       // the count is a hint
      case 10: {
        const n = this.u32(), out = [];
        if (n > this.b.length - this.p) throw new Error('AMF0: array longer than its message');
        for (let i = 0; i < n; i++) out.push(this.value(depth + 1));
        return out;
      }
      case 11: { const t = this.f64(); this.u16(); return new Date(t); }
      case 12: return this.str(this.u32());
      default: throw new Error(`AMF0: type ${type} not supported`);
    }
  }
}

/**
 * The name and value of a script data message.
 * @param {Uint8Array} bytes the FLV script tag body
 * @returns {{name: string, value: *}}
 */
export function decodeData(bytes) {
  const r = new Reader(bytes);
  const name = r.value();
  if (typeof name !== 'string') throw new Error('AMF0: data without a name');
  const value = r.p < bytes.length ? r.value() : undefined;
  return { name, value };
}
