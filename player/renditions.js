// Renditions: what the player knows of a rendition group (docs/protocol.md): the
// renditions from hello, the one being sent from the server's rendition notices,
// the switches up and down, and the viewer's pin, re-sent after a reconnect.

const FIELDS = ['name', 'bitrate', 'width', 'height'];

/** Rendition state of one player; no I/O (the player sends what it says). */
export class Renditions {
  constructor() {
    /** @type {Array<{index: number, name?: string, online?: boolean, bitrate?: number, width?: number, height?: number}>} */
    this.list = [];              // from hello; empty for a plain stream
    this.index = -1;             // the rendition being sent, -1 when none
    this.auto = false;           // the server moves this viewer by itself (its word)
    this.pin = -1;               // the viewer's pin, -1 for automatic
    this.confirmed = false;      // the server said it holds the pin (a notice with auto false at pin)
    this.connected = false;      // this connection's hello had renditions: a pin may be sent on it
    this.switches = { up: 0, down: 0 };
  }

  /**
   * A new connection's hello.
   * @param {object} m
   * @returns {number|null} the pin to send now (a reconnect of a viewer that pinned), else null
   */
  hello(m) {
    const list = Array.isArray(m.renditions) ? m.renditions : [];
    this.list = list.map((r, i) => ({ ...(r && typeof r === 'object' ? r : {}), index: i }));
    this.index = -1;
    this.auto = this.list.length > 0 && m.auto !== false;
    this.confirmed = false;
    this.connected = this.list.length > 0;
    if (this.pin >= this.list.length) this.pin = -1;   // no such rendition any more
    return this.pin >= 0 ? this.pin : null;
  }

  /**
   * The connection changed stream (a channel notice, with hello's fields): another
   * group, or none; a pin was of the old one.
   * @param {object} m
   */
  channel(m) {
    this.pin = -1;
    this.hello(m);
  }

  /** The connection was lost: the next one has to be told the pin again. */
  lost() { this.confirmed = this.connected = false; }

  /**
   * A rendition notice.
   * @param {object} m
   * @returns {{index: number, from: number, reason: string, auto: boolean, name: string|null,
   *            bitrate: number|null, width: number|null, height: number|null}|null} the event (the
   *   notice's fields, those it lacks from the list), null when malformed
   */
  notice(m) {
    if (!Number.isInteger(m.index) || m.index < 0) return null;
    const from = Number.isInteger(m.from) ? m.from : -1;
    const r = this.list[m.index];
    if (r) {
      if (typeof m.name === 'string') r.name = m.name;
      for (const k of FIELDS.slice(1)) if (Number.isFinite(m[k]) && m[k] > 0) r[k] = m[k];   // 0: not known
    }
    if (from >= 0 && m.index !== from) this.switches[m.index > from ? 'down' : 'up']++;
    this.index = m.index;
    if (typeof m.auto === 'boolean') this.auto = m.auto;
    if (this.pin >= 0) {
      if (!this.auto && this.index === this.pin) this.confirmed = true;
      else if (this.auto && this.confirmed) { this.pin = -1; this.confirmed = false; }   // the server let go of it
    }
    const e = { index: m.index, from, reason: typeof m.reason === 'string' ? m.reason : '', auto: this.auto };
    for (const k of FIELDS) e[k] = m[k] ?? (r && r[k] !== undefined ? r[k] : null);
    return e;
  }

  /**
   * The viewer asks for a rendition (-1: automatic).
   * @param {number} index
   * @returns {boolean} whether to send it now (false on a plain stream, and while reconnecting:
   *   then it is sent after the next hello)
   * @throws {RangeError} index not an integer from -1 to the last rendition
   */
  request(index) {
    const bad = () => new RangeError(`rendition ${index}: -1 (automatic) or 0 to ${this.list.length - 1}`);
    if (!Number.isInteger(index) || index < -1) throw bad();
    if (!this.list.length) return false;
    if (index >= this.list.length) throw bad();
    this.pin = index;
    this.confirmed = false;
    return this.connected;
  }
}
