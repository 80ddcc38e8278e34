// deno-lint-ignore-file no-console -- a command-line tool reports on stdout/stderr
/**
 * Generates an Ed25519 key pair for Pharos JWT auth.
 *
 * Without `--out-dir` it prints two lines on stdout: the private JWK (the value for
 * `PHAROS_AUTH_PRIVATE_KEY`) and a JWKS holding the public key (the contents of the file
 * named by `PHAROS_AUTH_PUBLIC_KEYS`). With `--out-dir DIR` it writes `DIR/private.jwk.json`
 * (mode 0600, never overwritten) and `DIR/jwks.json` instead.
 *
 * ```sh
 * deno run scripts/gen_keys.ts [--kid NAME]
 * deno run --allow-write=DIR scripts/gen_keys.ts --kid NAME --out-dir DIR
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { publicJwkOf } from "../src/auth/mod.ts";

const USAGE = "Usage: gen_keys.ts [--kid NAME] [--out-dir DIR]";

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

let values: {
  kid?: string | undefined;
  "out-dir"?: string | undefined;
  help?: boolean | undefined;
};
try {
  ({ values } = parseArgs({
    args: Deno.args,
    options: {
      kid: { type: "string" },
      "out-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  console.error(`gen_keys: ${error instanceof Error ? error.message : error}\n${USAGE}`);
  Deno.exit(2);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

// A random default kid, so two keys generated for a rotation never share one.
const kid = values.kid ?? `pharos-${toHex(crypto.getRandomValues(new Uint8Array(4)))}`;
if (kid === "") {
  console.error(`gen_keys: --kid must not be empty\n${USAGE}`);
  Deno.exit(2);
}

const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
  "sign",
  "verify",
]) as CryptoKeyPair;
const { kty, crv, x, d } = await crypto.subtle.exportKey("jwk", pair.privateKey);
if (kty !== "OKP" || crv !== "Ed25519" || x === undefined || d === undefined) {
  throw new TypeError("WebCrypto exported an unexpected Ed25519 JWK");
}
// Only the members a verifier or minter needs: no `key_ops`/`ext` noise.
const privateJwk = { kty, crv, x, d, kid };
const jwks = { keys: [publicJwkOf(privateJwk, kid)] };

const outDir = values["out-dir"];
if (outDir === undefined) {
  console.log(JSON.stringify(privateJwk));
  console.log(JSON.stringify(jwks));
  console.error(
    `gen_keys: kid ${kid}. Line 1 is PHAROS_AUTH_PRIVATE_KEY (keep it secret); ` +
      "line 2 is the JWKS for the file named by PHAROS_AUTH_PUBLIC_KEYS.",
  );
} else {
  try {
    await Deno.mkdir(outDir, { recursive: true });
    const privatePath = `${outDir}/private.jwk.json`;
    const jwksPath = `${outDir}/jwks.json`;
    // createNew: an existing private key is never silently replaced.
    await Deno.writeTextFile(privatePath, JSON.stringify(privateJwk) + "\n", {
      createNew: true,
      mode: 0o600,
    });
    await Deno.writeTextFile(jwksPath, JSON.stringify(jwks, null, 2) + "\n");
    console.log(`gen_keys: kid ${kid}`);
    console.log(`  ${privatePath}  (secret; PHAROS_AUTH_PRIVATE_KEY="$(cat ${privatePath})")`);
    console.log(`  ${jwksPath}  (public; PHAROS_AUTH_PUBLIC_KEYS=${jwksPath})`);
  } catch (error) {
    console.error(
      `gen_keys: cannot write to ${outDir}: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(1);
  }
}
