/**
 * The labels file a lab run writes: one row per attack, naming the attacking
 * address and the time window in which its tool ran.
 *
 * ```csv
 * attacker,start,end,attack
 * 10.66.0.66,1718000012.413201,1718000031.902114,syn-scan
 * ```
 *
 * `start` and `end` are seconds since the Unix epoch (fractional).
 */

/** One attack: who, when, what. */
export interface AttackWindow {
  /** Attacker's IP address, as printed (IPv4 dotted quad or IPv6). */
  attacker: string;
  /** Window start, seconds since the Unix epoch. */
  start: number;
  /** Window end, seconds since the Unix epoch (>= start). */
  end: number;
  /** Attack name, used as the flow label. */
  attack: string;
}

/** Header line of a labels file. */
export const ATTACK_WINDOW_HEADER = "attacker,start,end,attack";

/** Formats windows as a labels CSV (header plus one line per window). */
export function formatAttackWindows(windows: readonly AttackWindow[]): string {
  const lines = [ATTACK_WINDOW_HEADER];
  for (const w of windows) {
    if (/[,\n"]/.test(w.attack) || /[,\n"]/.test(w.attacker)) {
      throw new Error(`attack window has a comma, quote or newline: ${JSON.stringify(w)}`);
    }
    lines.push(`${w.attacker},${w.start.toFixed(6)},${w.end.toFixed(6)},${w.attack}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Parses a labels CSV. Columns may come in any order (found by header name);
 * blank lines are skipped. Any malformed line throws with its line number,
 * since a silently dropped attack would mislabel its flows as benign.
 */
export function parseAttackWindows(text: string): AttackWindow[] {
  const lines = text.split(/\r?\n/);
  const headerIndex = lines.findIndex((l) => l.trim() !== "");
  if (headerIndex < 0) {
    throw new Error("labels file is empty (expected header " + ATTACK_WINDOW_HEADER + ")");
  }
  const header = lines[headerIndex].split(",").map((h) => h.trim().toLowerCase());
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) {
      throw new Error(`labels file header lacks "${name}" (expected ${ATTACK_WINDOW_HEADER})`);
    }
    return i;
  };
  const [ia, is, ie, ik] = [col("attacker"), col("start"), col("end"), col("attack")];
  const windows: AttackWindow[] = [];
  for (let n = headerIndex + 1; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === "") continue;
    const cells = line.split(",").map((c) => c.trim());
    const where = `labels file line ${n + 1}`;
    if (cells.length !== header.length) {
      throw new Error(`${where}: ${cells.length} columns, header has ${header.length}`);
    }
    const start = Number(cells[is]);
    const end = Number(cells[ie]);
    if (!Number.isFinite(start) || !Number.isFinite(end)) {
      throw new Error(
        `${where}: start and end must be epoch seconds, got "${cells[is]}", "${cells[ie]}"`,
      );
    }
    if (end < start) throw new Error(`${where}: end ${end} is before start ${start}`);
    if (cells[ia] === "" || cells[ik] === "") throw new Error(`${where}: empty attacker or attack`);
    windows.push({ attacker: canonicalAddress(cells[ia]), start, end, attack: cells[ik] });
  }
  return windows;
}

/**
 * Canonical text of an address so labels and flow records compare equal:
 * IPv4 as dotted quad (also when written IPv4-mapped, `::ffff:a.b.c.d`),
 * IPv6 in RFC 5952 form (lower case, longest zero run compressed).
 */
export function canonicalAddress(address: string): string {
  const a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1];
  if (!a.includes(":")) return a;
  const groups = expandIPv6(a);
  if (groups === undefined) return a;
  // Longest run of zero groups (length >= 2) becomes "::".
  let bestStart = -1, bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

function expandIPv6(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string) =>
    part === ""
      ? []
      : part.split(":").map((g) => /^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN);
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const groups = [...head, ...new Array(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}
