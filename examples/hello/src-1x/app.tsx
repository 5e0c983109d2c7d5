// The hello page in Zero 1.x's style: ZeroProvider gets the cache URL, the user, the
// schema, the defined mutators and a `context`; the session is an HttpOnly cookie that
// zero-cache forwards to the API server, which computes the real context from it.
import {useEffect, useState} from 'react';
import {dropAllDatabases} from 'zync';
import {ZeroProvider} from 'zync/react';
import {mutators} from '../shared-1x/mutators.ts';
import {zql} from '../shared-1x/queries.ts';
import {schema} from '../shared-1x/schema.ts';
import type {User} from '../shared/schema.ts';
import type {AppConfig, Session} from '../src/api.ts';
import {getConfig, listUsers, login, logout, refresh} from '../src/api.ts';
import {IssuesPage} from './issues-page.tsx';

type Tables = keyof typeof schema.tables;
type Running = {close(): Promise<void>; run(q: unknown): Promise<unknown>};

/** What tests and curious developers can look at from the console. */
declare global {
  interface Window {
    __hello1x?: {localRows(table: Tables): Promise<unknown>} | undefined;
  }
}
window.__hello = {states: []};

export function App() {
  const [config, setConfig] = useState<AppConfig>();
  const [session, setSession] = useState<Session | null>();
  const [dropped, setDropped] = useState<string[]>();
  const [zero, setZero] = useState<Running>();

  useEffect(() => {
    void (async () => {
      setConfig(await getConfig());
      setSession((await refresh()) ?? null);
    })();
  }, []);

  if (!config || session === undefined) return <main>Loading…</main>;

  if (!session) {
    return (
      <LoginPage
        dropped={dropped}
        onLogin={async id => {
          const s = await login(id);
          if (s) {
            setDropped(undefined);
            setSession(s);
          }
        }}
      />
    );
  }

  const onLogout = async () => {
    await zero?.close();
    await logout();
    // The synced data stays on the device unless it is dropped: drop it on logout.
    const result = await dropAllDatabases();
    window.__hello = {states: [], dropped: result.dropped};
    window.__hello1x = undefined;
    setDropped(result.dropped);
    setSession(null);
  };

  const {user} = session;
  return (
    <ZeroProvider
      cacheURL={`${location.protocol}//${location.hostname}:${config.cachePort}`}
      userID={user.id}
      schema={schema}
      mutators={mutators}
      // For the page's optimistic runs only: the server decides with its own.
      context={{userID: user.id, role: user.role}}
      init={z => {
        setZero(z);
        (window.__hello as {zero?: unknown}).zero = z;
        window.__hello1x = {localRows: t => z.run(zql[t])};
      }}
    >
      <IssuesPage user={user} onLogout={onLogout} />
    </ZeroProvider>
  );
}

function LoginPage(props: {
  dropped: string[] | undefined;
  onLogin: (userID: string) => Promise<void>;
}) {
  const [users, setUsers] = useState<User[]>([]);
  useEffect(() => {
    void listUsers().then(setUsers);
  }, []);
  return (
    <main>
      <header>
        <h1>hello zync</h1>
        <span className="badge">api: 1.x</span>
        <span className="badge">auth: cookie</span>
      </header>
      {props.dropped && (
        <div className="notice" data-testid="dropped">
          Logged out. Dropped {props.dropped.length} local database
          {props.dropped.length === 1 ? '' : 's'}: {props.dropped.join(', ') || 'none'}
        </div>
      )}
      <div className="panel">
        <h2>Log in as</h2>
        <div className="users">
          {users.map(u => (
            <button key={u.id} className="primary" onClick={() => void props.onLogin(u.id)}>
              {u.name} ({u.role})
            </button>
          ))}
        </div>
      </div>
    </main>
  );
}
