// NDJSON from a byte stream: bytes are decoded across chunk boundaries (a character may be split) and
// lines across chunks; a blank line is skipped. Kept free of DOM types: the unit tests run it in Node.

export function ndjsonSplitter(onLine: (value: unknown) => void) {
  const decoder = new TextDecoder();
  let rest = "";
  const emit = (line: string) => {
    if (line.trim() !== "") onLine(JSON.parse(line));
  };
  return {
    push(chunk: Uint8Array) {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = lines.pop()!;
      for (const line of lines) emit(line);
    },
    /** the stream ended: a last line without its newline still counts */
    end() {
      emit(rest + decoder.decode());
      rest = "";
    },
  };
}
