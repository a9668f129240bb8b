/**
 * Secret-free copies of errors and text. ioredis errors can carry the password in
 * `command.args` (HELLO … AUTH user pass) and a URL in a message can hold it too, so nothing
 * from ioredis is passed on as is.
 */
export class Redactor {
  readonly #secrets: string[];

  constructor(secrets: ReadonlyArray<string | undefined>) {
    // Longest first, so a secret that contains another is replaced whole.
    this.#secrets = secrets
      .filter((secret): secret is string => typeof secret === 'string' && secret.length > 0)
      .flatMap((secret) => [secret, encodeURIComponent(secret)])
      .sort((a, b) => b.length - a.length);
  }

  /** `text` with every secret and every URL password replaced by `***`. */
  text(text: string): string {
    let out = text.replace(/(rediss?:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }

  /**
   * A new Error with the same name, code and (redacted) message — never the original object,
   * whose extra fields may hold secrets.
   */
  error(error: unknown): Error {
    if (!(error instanceof Error)) return new Error(this.text(String(error)));
    const copy = new Error(this.text(error.message));
    copy.name = error.name;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') {
      Object.defineProperty(copy, 'code', { value: code, enumerable: true });
    }
    copy.stack = `${copy.name}: ${copy.message}`;
    return copy;
  }
}
