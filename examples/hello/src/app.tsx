import {useEffect, useState} from 'react';
import {dropAllDatabases} from 'zync';
import {ZeroProvider} from 'zync/react';
import type {User} from '../shared/schema.ts';
import type {AppConfig, Session} from './api.ts';
import {getConfig, listUsers, login, logout, refresh} from './api.ts';
import {IssuesPage} from './issues-page.tsx';
import type {HelloZero} from './make-zero.ts';
import {makeZero} from './make-zero.ts';

/** What tests and curious developers can look at from the console. */
export type HelloDebug = {
  zero?: HelloZero | undefined;
  states: string[];
  dropped?: string[] | undefined;
};

declare global {
  interface Window {
    __hello: HelloDebug;
  }
}
window.__hello = {states: []};

type Signed = {session: Session; zero: HelloZero};

export function App() {
  const [config, setConfig] = useState<AppConfig>();
  const [signed, setSigned] = useState<Signed | null>();
  const [dropped, setDropped] = useState<string[]>();

  const start = (c: AppConfig, session: Session) => {
    const zero = makeZero(c, session);
    window.__hello.zero = zero;
    window.__hello.states = [];
    setSigned({session, zero});
  };

  useEffect(() => {
    void (async () => {
      const c = await getConfig();
      setConfig(c);
      const session = await refresh();
      if (session) start(c, session);
      else setSigned(null);
    })();
  }, []);

  if (!config || signed === undefined) return <main>Loading…</main>;

  if (!signed) {
    return (
      <LoginPage
        mode={config.mode}
        dropped={dropped}
        onLogin={async id => {
          const session = await login(id);
          if (session) {
            setDropped(undefined);
            start(config, session);
          }
        }}
      />
    );
  }

  const onLogout = async () => {
    await signed.zero.close();
    await logout();
    // The synced data stays on the device unless it is dropped: drop it on logout.
    const result = await dropAllDatabases();
    window.__hello.zero = undefined;
    window.__hello.dropped = result.dropped;
    setDropped(result.dropped);
    setSigned(null);
  };

  return (
    <ZeroProvider zero={signed.zero}>
      <IssuesPage user={signed.session.user} mode={config.mode} onLogout={onLogout} />
    </ZeroProvider>
  );
}

function LoginPage(props: {
  mode: string;
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
        <span className="badge">auth: {props.mode}</span>
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
