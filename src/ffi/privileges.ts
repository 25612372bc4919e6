/**
 * `--user NAME`: give up root once the capture handles are open. The user is
 * looked up with getpwnam (so NSS sources count, not only /etc/passwd), then
 * initgroups, setgid, setuid through libc. glibc applies set*id to every
 * thread of the process (capture and inference workers too). Afterwards the
 * drop is checked: real and effective ids are the user's and setuid(0) fails.
 */

const SYMBOLS = {
  getpwnam: { parameters: ["buffer"], result: "pointer" },
  initgroups: { parameters: ["buffer", "u32"], result: "i32" },
  setgid: { parameters: ["u32"], result: "i32" },
  setuid: { parameters: ["u32"], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  geteuid: { parameters: [], result: "u32" },
  getgid: { parameters: [], result: "u32" },
  getegid: { parameters: [], result: "u32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** A user as getpwnam reports it. */
export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Dropping privileges failed; the process keeps running as it was (or exits: the caller decides). */
export class PrivilegeError extends Error {
  override name = "PrivilegeError";
}

let bound: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | null = null;
function libc() {
  bound ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return bound;
}

function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

function lastError(): string {
  const c = libc();
  const errnoPointer = c.__errno_location();
  const errno = errnoPointer ? new Deno.UnsafePointerView(errnoPointer).getInt32() : 0;
  const message = c.strerror(errno);
  return message
    ? `${Deno.UnsafePointerView.getCString(message)} (errno ${errno})`
    : `errno ${errno}`;
}

/** Looks `name` up (getpwnam); null when there is no such user. */
export function lookupUser(name: string): SystemUser | null {
  const entry = libc().getpwnam(cString(name));
  if (entry === null) return null;
  // struct passwd on 64-bit glibc: char *pw_name, *pw_passwd; uid_t pw_uid; gid_t pw_gid;
  // char *pw_gecos, *pw_dir, *pw_shell.
  const view = new Deno.UnsafePointerView(entry);
  const dir = view.getPointer(32);
  return {
    name,
    uid: view.getUint32(16),
    gid: view.getUint32(20),
    home: dir ? Deno.UnsafePointerView.getCString(dir) : "/",
  };
}

/** Current real and effective user and group ids. */
export function currentIds(): { uid: number; euid: number; gid: number; egid: number } {
  const c = libc();
  return { uid: c.getuid(), euid: c.geteuid(), gid: c.getgid(), egid: c.getegid() };
}

/**
 * Becomes `name` for good. Must run as root; running already as that user is
 * a no-op. Throws PrivilegeError naming the step that failed.
 */
export function dropPrivileges(name: string): SystemUser {
  if (Deno.build.os !== "linux") throw new PrivilegeError("--user is supported on Linux only");
  const user = lookupUser(name);
  if (!user) throw new PrivilegeError(`--user ${name}: no such user`);
  const c = libc();
  const before = currentIds();
  if (before.uid === user.uid && before.euid === user.uid) return user;
  if (before.euid !== 0) {
    throw new PrivilegeError(
      `--user ${name}: switching users needs root (running as uid ${before.euid})`,
    );
  }
  if (user.uid === 0) throw new PrivilegeError(`--user ${name}: that user is root`);
  // Groups first: after setuid there is no right left to change them.
  if (c.initgroups(cString(name), user.gid) !== 0) {
    throw new PrivilegeError(`--user ${name}: initgroups failed: ${lastError()}`);
  }
  if (c.setgid(user.gid) !== 0) {
    throw new PrivilegeError(`--user ${name}: setgid(${user.gid}) failed: ${lastError()}`);
  }
  if (c.setuid(user.uid) !== 0) {
    throw new PrivilegeError(`--user ${name}: setuid(${user.uid}) failed: ${lastError()}`);
  }
  const after = currentIds();
  if (
    after.uid !== user.uid || after.euid !== user.uid || after.gid !== user.gid ||
    after.egid !== user.gid
  ) {
    throw new PrivilegeError(`--user ${name}: ids after the switch are ${JSON.stringify(after)}`);
  }
  if (c.setuid(0) === 0) throw new PrivilegeError(`--user ${name}: root could be regained`);
  return user;
}
