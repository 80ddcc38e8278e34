/**
 * A token revocation list file (`PHAROS_AUTH_REVOKED`) under /tmp, rewritten as deployment
 * tools do: a complete new file renamed over the old one. Its folder is removed on dispose.
 * @module
 */

/** A revocation list file and what a test does with it. */
export interface RevocationFile extends AsyncDisposable {
  readonly path: string;
  /**
   * Replaces the file with `content`: a string or bytes as they are (malformed on purpose,
   * perhaps), anything else as JSON.
   */
  write(content: unknown): Promise<void>;
  /** Removes the file (the folder stays until dispose). */
  remove(): Promise<void>;
}

/** Writes `initial` to a fresh file under /tmp. */
export async function writeRevocationFile(initial: unknown): Promise<RevocationFile> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "pharos-revoked-" });
  const path = `${dir}/revoked.json`;
  let written = 0;
  const write = async (content: unknown) => {
    const next = `${dir}/next-${++written}.json`;
    if (content instanceof Uint8Array) await Deno.writeFile(next, content);
    else {
      await Deno.writeTextFile(
        next,
        typeof content === "string" ? content : JSON.stringify(content),
      );
    }
    await Deno.rename(next, path);
  };
  await write(initial);
  return {
    path,
    write,
    remove: () => Deno.remove(path),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}
