import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { getFreePort } from './free-port.js';

/** TLS files for a spawned server (`tls-port` only: the plain port is disabled). */
export interface RedisServerTlsOptions {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Options of {@link RedisServer.start}. */
export interface RedisServerOptions {
  /** Port to listen on. @defaultValue a free loopback port */
  port?: number;
  /** Turn on the append-only file so data survives `kill()` + `restart()`. @defaultValue false */
  appendOnly?: boolean;
  /** `appendfsync` policy when `appendOnly` is on. @defaultValue 'everysec' */
  appendFsync?: 'always' | 'everysec' | 'no';
  /** `requirepass` for the default user. */
  password?: string;
  /** Serve TLS only, with these files. */
  tls?: RedisServerTlsOptions;
  /** Extra `redis-server` arguments, e.g. `['--maxmemory-policy', 'allkeys-lru']`. */
  args?: string[];
  /** How long to wait for "Ready to accept connections". Unit: ms. @defaultValue 10_000 */
  startTimeoutMs?: number;
}

/** Options of {@link RedisServer.client} that differ from the server's own. */
export interface ClientOverrides {
  username?: string;
  password?: string;
  db?: number;
}

/** Thrown when no `redis-server` binary is on PATH. */
export class RedisBinaryNotFoundError extends Error {
  override readonly name = 'RedisBinaryNotFoundError';
  constructor() {
    super(
      'no redis-server binary on PATH: install one (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)',
    );
  }
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test run must not leave orphan servers behind.
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** True when `redis-server` can be executed. */
export function hasRedisServerBinary(): boolean {
  const result = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

/**
 * True when the local redis-server was built with TLS: an unknown `tls-port` directive makes a
 * non-TLS build fail with "Bad directive", a TLS build fails later on the missing certificate.
 */
export function redisServerSupportsTls(): boolean {
  const result = spawnSync('redis-server', ['--port', '0', '--tls-port', '0', '--tls-cert-file', '/nonexistent'], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  return result.error === undefined && !/Bad directive|wrong number of arguments|not supported/i.test(output);
}

/**
 * A private redis-server on a loopback port, in its own temporary directory, that a
 * test may hurt: stop it, `kill -9` it, restart it on the same port (with AOF the data
 * survives), freeze it with SIGSTOP to make connections half-open, or `CLIENT PAUSE` it.
 */
export class RedisServer {
  readonly host = '127.0.0.1';
  readonly port: number;
  /** Working directory (AOF and logs live here); removed by {@link RedisServer.close}. */
  readonly dir: string;
  readonly options: Readonly<RedisServerOptions>;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #log = '';

  private constructor(port: number, dir: string, options: RedisServerOptions) {
    this.port = port;
    this.dir = dir;
    this.options = options;
  }

  /** Spawns a server and resolves once it accepts connections. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    if (!hasRedisServerBinary()) throw new RedisBinaryNotFoundError();
    const port = options.port ?? (await getFreePort());
    const dir = mkdtempSync(join(tmpdir(), 'shim-redis-'));
    const server = new RedisServer(port, dir, options);
    try {
      await server.#spawn();
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return server;
  }

  /** `redis://` (or `rediss://`) URL of this server, with the password when one is set. */
  get url(): string {
    const scheme = this.options.tls ? 'rediss' : 'redis';
    const auth = this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
    return `${scheme}://${auth}${this.host}:${this.port}`;
  }

  /** Process id of the running server, or undefined when it is stopped. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Everything the server logged so far (for failure messages). */
  get log(): string {
    return this.#log;
  }

  async #spawn(): Promise<void> {
    const { options } = this;
    const args = [
      '--bind',
      this.host,
      '--dir',
      this.dir,
      '--save',
      '',
      '--daemonize',
      'no',
      '--appendonly',
      options.appendOnly ? 'yes' : 'no',
      '--appendfsync',
      options.appendFsync ?? 'everysec',
    ];
    if (options.tls) {
      args.push(
        '--port',
        '0',
        '--tls-port',
        String(this.port),
        '--tls-cert-file',
        options.tls.certFile,
        '--tls-key-file',
        options.tls.keyFile,
        '--tls-ca-cert-file',
        options.tls.caFile,
        '--tls-auth-clients',
        'no',
      );
    } else {
      args.push('--port', String(this.port));
    }
    if (options.password !== undefined) args.push('--requirepass', options.password);
    args.push(...(options.args ?? []));

    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    installExitHook();
    live.add(child);
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(child);
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
    });

    const timeoutMs = options.startTimeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        this.#log += chunk.toString();
        if (this.#log.includes('Ready to accept connections')) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new Error(`redis-server exited (code ${code}) before it was ready:\n${this.#log}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        child.kill('SIGKILL');
        reject(new Error(`redis-server was not ready within ${timeoutMs} ms:\n${this.#log}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('exit', onExit);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => {
        this.#log += chunk.toString();
      });
      child.once('exit', onExit);
    });
  }

  async #signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child) return;
    // A stopped (SIGSTOP) process must be continued or it never handles SIGTERM.
    child.kill('SIGCONT');
    child.kill(signal);
    await this.#exited;
  }

  /** Graceful shutdown (SIGTERM: the server flushes its AOF) and wait for the exit. */
  async stop(): Promise<void> {
    await this.#signalAndWait('SIGTERM');
  }

  /** `kill -9`: no goodbye, connections drop at once. */
  async kill(): Promise<void> {
    await this.#signalAndWait('SIGKILL');
  }

  /** Starts the server again on the same port and directory (stopping it first if it runs). */
  async restart(): Promise<void> {
    await this.stop();
    await this.#spawn();
  }

  /** Starts a stopped server again on the same port and directory. */
  async start(): Promise<void> {
    if (this.#child) return;
    await this.#spawn();
  }

  /** SIGSTOP: the socket stays open but nothing answers (a half-open connection). */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** SIGCONT after {@link RedisServer.freeze}. */
  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** A new ioredis client to this server (the caller disconnects it); `overrides` win over the defaults. */
  client(overrides: ClientOverrides = {}): Redis {
    return new Redis({
      host: this.host,
      port: this.port,
      maxRetriesPerRequest: 1,
      ...(this.options.password === undefined ? {} : { password: this.options.password }),
      ...(this.options.tls ? { tls: { ca: readFileSync(this.options.tls.caFile) } } : {}),
      ...overrides,
    });
  }

  /** `CLIENT PAUSE <ms> <mode>` sent from a short-lived admin connection. */
  async clientPause(ms: number, mode: 'ALL' | 'WRITE' = 'ALL'): Promise<void> {
    const admin = this.client();
    try {
      await admin.call('CLIENT', 'PAUSE', String(ms), mode);
    } finally {
      admin.disconnect();
    }
  }

  /** Kills the server and removes its directory. Idempotent. */
  async close(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
