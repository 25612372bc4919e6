/** Where notification spools live when no `--spool-dir` is given. */
import { join } from "node:path";

/**
 * `$STATE_DIRECTORY/spool` under systemd (StateDirectory=ids-sensor), else
 * `/var/lib/ids-sensor/spool` for root, else `~/.local/state/ids-sensor/spool`.
 */
export function defaultSpoolDir(): string {
  const state = Deno.env.get("STATE_DIRECTORY");
  if (state) return join(state.split(":")[0], "spool");
  if (Deno.uid() === 0) return "/var/lib/ids-sensor/spool";
  const xdg = Deno.env.get("XDG_STATE_HOME");
  const home = Deno.env.get("HOME") ?? ".";
  return join(xdg ?? join(home, ".local", "state"), "ids-sensor", "spool");
}
