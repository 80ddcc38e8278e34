/** One line of a text stream: its 1-based number and text, or `undefined` when too long. */
export interface Line {
  readonly number: number;
  /** Without the line break (and a trailing `\r`); `undefined` for a line over the limit. */
  readonly text: string | undefined;
}

/** Turns chunks of text into whole lines; see {@link createLineSplitter}. */
export interface LineSplitter {
  /** The lines completed by `chunk`. */
  push(chunk: string): Line[];
  /** The last line, when the text does not end with a line break. */
  end(): Line[];
}

/**
 * Splits streamed text into lines while holding at most one line (`maxLineLength`
 * characters) plus the current chunk: a longer line is dropped as it streams past and
 * reported with `text: undefined`, so one runaway line cannot exhaust memory.
 */
export function createLineSplitter(maxLineLength: number): LineSplitter {
  let partial = "";
  let overlong = false;
  let number = 0;
  const toLine = (text: string): Line => {
    number++;
    const line = text.endsWith("\r") ? text.slice(0, -1) : text;
    const tooLong = overlong || line.length > maxLineLength;
    overlong = false;
    return { number, text: tooLong ? undefined : line };
  };
  return {
    push(chunk) {
      const lines: Line[] = [];
      let start = 0;
      for (;;) {
        const end = chunk.indexOf("\n", start);
        if (end < 0) break;
        lines.push(toLine(overlong ? "" : partial + chunk.slice(start, end)));
        partial = "";
        start = end + 1;
      }
      if (!overlong) {
        partial += chunk.slice(start);
        if (partial.length > maxLineLength) {
          overlong = true;
          partial = "";
        }
      }
      return lines;
    },
    end() {
      const last = partial !== "" || overlong ? [toLine(partial)] : [];
      partial = "";
      return last;
    },
  };
}

/** The lines one read completes; `done` once the stream has ended (its last line included). */
export interface LineChunk {
  readonly lines: Line[];
  readonly done: boolean;
}

/** Reads a byte stream as lines; see {@link createLineReader}. */
export interface LineReader {
  /** Reads the next chunk of the stream and returns the lines it completes. */
  read(): Promise<LineChunk>;
}

/**
 * Reads UTF-8 bytes from `reader` as lines of at most `maxLineLength` characters (see
 * {@link createLineSplitter}), decoding with a streaming `TextDecoder` so a character split
 * across chunks stays whole. The caller owns `reader` and cancels it.
 */
export function createLineReader(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  maxLineLength: number,
): LineReader {
  const decoder = new TextDecoder();
  const splitter = createLineSplitter(maxLineLength);
  return {
    async read() {
      const { done, value } = await reader.read();
      const lines = done
        ? splitter.push(decoder.decode()).concat(splitter.end())
        : splitter.push(decoder.decode(value, { stream: true }));
      return { lines, done };
    },
  };
}
