/**
 * Says what a starting sensor is waiting for when a start takes long: every
 * `everyMs` until `done()`, one stderr line naming the stage (capture
 * workers, services, inference workers) and the seconds so far. A start that
 * never finishes then says where it stuck instead of staying silent.
 */
export interface StartupWatch {
  /** The stage the start is in now. */
  stage(name: string): void;
  /** `work` as stage `name`; a start that fails there is over (no more lines). */
  step<T>(name: string, work: Promise<T>): Promise<T>;
  /** The start is over: no more lines. */
  done(): void;
}

export function watchStartup(
  write: (line: string) => void = (line) => console.error(line),
  everyMs = 30_000,
): StartupWatch {
  const started = performance.now();
  let current = "starting";
  const timer = setInterval(() => {
    const seconds = Math.round((performance.now() - started) / 1000);
    write(`ids-sensor: still starting after ${seconds} s: waiting for ${current}`);
  }, everyMs);
  // Never what keeps the process alive.
  Deno.unrefTimer(timer);
  const done = () => clearInterval(timer);
  return {
    stage(name: string) {
      current = name;
    },
    async step<T>(name: string, work: Promise<T>): Promise<T> {
      current = name;
      try {
        return await work;
      } catch (error) {
        done();
        throw error;
      }
    },
    done,
  };
}
