// What the client does with the page it runs in, when there is one.

/** Zero's default for onUpdateNeeded and onClientStateNotFound: reload, in a browser. */
export function reloadPage(): void {
  const location = (globalThis as {location?: {reload?: () => void}}).location;
  if (typeof location?.reload === 'function') location.reload();
}

export function watchVisibility(onChange: (hidden: boolean) => void): () => void {
  const doc = (globalThis as {document?: Document}).document;
  if (!doc?.addEventListener) return () => {};
  const handler = () => onChange(doc.visibilityState === 'hidden');
  doc.addEventListener('visibilitychange', handler);
  return () => doc.removeEventListener('visibilitychange', handler);
}
