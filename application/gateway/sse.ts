// Server-sent events, split on byte boundaries so each event can be forwarded exactly as received.
// An event ends at a blank line ("\n\n" or "\r\n\r\n"); a multi-byte character split across TCP
// chunks is never decoded half-way, because only complete events are decoded.

const LF_LF = Buffer.from("\n\n");
const CRLF_CRLF = Buffer.from("\r\n\r\n");

export class SseSplitter {
  private pending: Buffer = Buffer.alloc(0);

  /** the complete events in `chunk` (with what was pending), each with its terminating blank line */
  push(chunk: Buffer): Buffer[] {
    let buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const events: Buffer[] = [];
    for (;;) {
      const lf = buffer.indexOf(LF_LF);
      const crlf = buffer.indexOf(CRLF_CRLF);
      let end: number;
      if (lf >= 0 && (crlf < 0 || lf < crlf)) end = lf + 2;
      else if (crlf >= 0) end = crlf + 4;
      else break;
      events.push(buffer.subarray(0, end));
      buffer = buffer.subarray(end);
    }
    this.pending = buffer;
    return events;
  }

  /** bytes of an unterminated last event (a stream cut mid-event) */
  rest(): Buffer {
    return this.pending;
  }
}

/** The `data` field of one raw event (data lines joined by "\n"), or null when it has none (comments). */
export function sseData(event: Buffer): string | null {
  const text = event.toString("utf8");
  // the usual event, one `data:` line ended by "\n\n", without splitting it into lines
  const end = text.length - 2;
  if (text.startsWith("data:") && text.indexOf("\n") === end && text.charCodeAt(end - 1) !== 13)
    return text.slice(text.charCodeAt(5) === 32 ? 6 : 5, end);
  let data: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === null ? value : `${data}\n${value}`;
  }
  return data;
}

/** One SSE event carrying `data` as JSON. */
export const sseEvent = (data: unknown) => Buffer.from(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
