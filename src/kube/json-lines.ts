/**
 * Splits a byte stream of newline-delimited JSON (a Kubernetes watch body) into parsed values.
 *
 * Works on the raw Buffers: each line is decoded and parsed once, straight from the chunk it arrived in,
 * instead of readline's per-chunk string decoding, regex line splitting and re-emitting through a PassThrough.
 * A line split across chunks is joined once, when its end arrives.
 */
export class JsonLineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /**
   * @param onValue called with each parsed line (blank lines are skipped)
   * @param maxLineBytes a longer line is an error: a server (or proxy) that never sends a newline must not
   *   grow the buffer without bound; Kubernetes objects are at most ~1.5 MiB (etcd's request limit).
   */
  constructor(
    private readonly onValue: (value: unknown) => void,
    private readonly onMalformed: (line: string) => void = () => {},
    private readonly maxLineBytes = 16 * 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    let newline = chunk.indexOf(10);
    if (newline !== -1 && this.pendingBytes > 0) {
      this.pending.push(chunk.subarray(0, newline));
      const line = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingBytes = 0;
      this.emit(line, 0, line.length);
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    while (newline !== -1) {
      this.emit(chunk, start, newline);
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > this.maxLineBytes) {
        this.pending = [];
        this.pendingBytes = 0;
        throw new Error(`watch stream line longer than ${this.maxLineBytes} bytes`);
      }
      // A copy, so the (usually 64 KiB) chunk is not kept alive for its last few bytes.
      this.pending.push(Buffer.from(chunk.subarray(start)));
    }
  }

  /** The stream ended: a last line without a trailing newline still counts. */
  end(): void {
    if (this.pendingBytes === 0) return;
    const line = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.emit(line, 0, line.length);
  }

  private emit(buffer: Buffer, start: number, end: number): void {
    if (end > start && buffer[end - 1] === 13) end--; // CRLF
    if (end <= start) return;
    const text = buffer.toString('utf8', start, end);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.onMalformed(text);
      return;
    }
    this.onValue(value);
  }
}
