/**
 * The console's bearer token: read from a file, or generated at first start
 * into a new file readable by its owner only (0600). Comparison takes the
 * same time whatever the guess, so the token cannot be found byte by byte.
 */

/** A token and whether this call created it (then it should be printed once). */
export interface ConsoleToken {
  token: string;
  path: string;
  created: boolean;
}

/** Reads the token in `path`, or writes a new random one there (mode 0600). */
export async function loadOrCreateToken(path: string): Promise<ConsoleToken> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    if (text.length < 16) {
      throw new Error(
        `token file ${path} holds fewer than 16 characters; remove it to generate one`,
      );
    }
    const mode = (await Deno.stat(path)).mode;
    if (mode !== null && (mode & 0o077) !== 0) {
      console.error(
        `ids-sensor: warning: token file ${path} is readable by others (mode ${
          (mode & 0o777).toString(8)
        }); chmod 600 it`,
      );
    }
    return { token: text, path, created: false };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
  // createNew: never overwrite a token another process wrote meanwhile.
  await Deno.writeTextFile(path, `${token}\n`, { mode: 0o600, createNew: true });
  await Deno.chmod(path, 0o600);
  return { token, path, created: true };
}

/** Compares two strings in time independent of where they differ. */
export function sameToken(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}
