import type { LogRecord } from "@logtape/logtape";

/** A placeholder LogTape looks up as `properties[key]` as written: letters, digits, `_`, `-`. */
function isPlainKey(template: string, from: number, to: number): boolean {
  if (from === to) return false;
  for (let i = from; i < to; i++) {
    const c = template.charCodeAt(i);
    const plain = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ||
      c === 95 || c === 45;
    if (!plain) return false;
  }
  return true;
}

/**
 * `record`'s message as text, each value through `render`. For a string template whose
 * placeholders are plain keys (every Pharos message), the text is built straight from the
 * template and the properties, which is what LogTape's `message` would hold; anything
 * else (escaped braces, paths like `{user.name}`, `{*}`, tagged templates) goes through
 * `record.message`.
 *
 * Why: LogTape parses the template into a parts array on first access of `message`, with
 * two regex replaces per part; at three lines per connection that parsing was most of
 * the garbage formatting made.
 */
export function renderMessage(record: LogRecord, render: (value: unknown) => string): string {
  const template = record.rawMessage;
  if (typeof template === "string" && !template.includes("{{") && !template.includes("}}")) {
    const properties = record.properties;
    let text = "";
    let start = 0;
    for (let open = template.indexOf("{"); open >= 0; open = template.indexOf("{", start)) {
      const close = template.indexOf("}", open + 1);
      if (close < 0) break; // an unclosed brace is text
      if (!isPlainKey(template, open + 1, close)) return renderParts(record.message, render);
      text += template.slice(start, open) + render(properties[template.slice(open + 1, close)]);
      start = close + 1;
    }
    return start === 0 ? template : text + template.slice(start);
  }
  return renderParts(record.message, render);
}

/** LogTape's message parts (text and values alternating) as text; `render` keeps strings. */
function renderParts(parts: readonly unknown[], render: (value: unknown) => string): string {
  let text = "";
  for (let i = 0; i < parts.length; i++) {
    text += render(parts[i]);
  }
  return text;
}

/** True when `template` shows property `key` as a `{key}` placeholder. */
export function showsKey(template: LogRecord["rawMessage"], key: string): boolean {
  return typeof template === "string" && template.includes(`{${key}}`);
}
