/** A connection URL safe for logs: user name and password removed, host and db kept. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

/** An error's message with anything that looks like a URL's credentials removed. */
export function safeErrorMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1');
}
