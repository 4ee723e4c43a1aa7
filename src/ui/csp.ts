// Network reach of the built page. The static policy (vite.config.ts) lets
// connect-src name any http(s) origin, because a remote server chosen in the
// settings must be reachable and a <meta> policy cannot be widened later.
// This narrows it at start, before anything can fetch: a second policy,
// which the browser enforces together with the first, allowing the page's
// own origin and, only when the person has saved one, the remote server's
// origin. Changing the server reloads the page so the policy follows.

/** Adds `connect-src 'self' [origin]` when the page carries the built site's policy (the dev server has none). */
export function narrowConnectSrc(remoteOrigin: string | undefined): void {
  if (!document.querySelector('meta[http-equiv="Content-Security-Policy"]')) return;
  const meta = document.createElement('meta');
  meta.httpEquiv = 'Content-Security-Policy';
  meta.content = `connect-src 'self'${remoteOrigin ? ` ${remoteOrigin}` : ''}`;
  meta.dataset.testid = 'connect-policy';
  document.head.append(meta);
}
