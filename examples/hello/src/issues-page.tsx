import {useEffect, useState} from 'react';
import {useQuery, useZero} from 'zync/react';
import type {Mutators} from '../shared/mutators.ts';
import type {IssueFilter} from '../shared/queries.ts';
import {auditLog, issues, users} from '../shared/queries.ts';
import type {Issue, Schema, User} from '../shared/schema.ts';

type ServerResult = {type: 'success'} | {type: 'error'; error: {type: string; message?: string}};
type MutationResult = {client: Promise<unknown>; server: Promise<ServerResult>};

export function useConnectionState(): string {
  const zero = useZero<Schema, Mutators>();
  const [state, setState] = useState(zero.connection.state.current.name);
  useEffect(() => {
    const record = (name: string) => {
      setState(name as typeof state);
      const states = window.__hello.states;
      if (states[states.length - 1] !== name) states.push(name);
    };
    record(zero.connection.state.current.name);
    return zero.connection.state.subscribe(s => record(s.name));
  }, [zero]);
  return state;
}

export function IssuesPage(props: {user: User; mode: string; onLogout: () => Promise<void>}) {
  const zero = useZero<Schema, Mutators>();
  const state = useConnectionState();
  const [filter, setFilter] = useState<IssueFilter>({open: null, ownerID: null, text: ''});
  const [rows, details] = useQuery(issues(filter));
  const [people] = useQuery(users());
  const [error, setError] = useState<string>();
  const isAdmin = props.user.role === 'admin';

  // Reports what the server decided; a refused write has already been rolled back locally.
  const track = (what: string, r: MutationResult) => {
    setError(undefined);
    r.client.catch((e: unknown) =>
      setError(`${what}: ${e instanceof Error ? e.message : String(e)}`),
    );
    void r.server.then(res => {
      if (res.type === 'error') {
        setError(`${what} was refused: ${res.error.message ?? res.error.type}`);
      }
    });
  };

  return (
    <main>
      <header>
        <h1>hello zync</h1>
        <span data-testid="whoami">
          {props.user.name} <small>({props.user.role})</small>
        </span>
        <span className={`badge ${state}`} data-testid="connection">
          {state}
        </span>
        <span className="badge">auth: {props.mode}</span>
        <button onClick={() => void props.onLogout()}>Log out</button>
      </header>

      {error && (
        <div className="error" role="alert" data-testid="error">
          {error}
        </div>
      )}

      <div className="panel">
        <NewIssue
          onCreate={title =>
            track(
              'Creating the issue',
              zero.mutate.issue.create({id: crypto.randomUUID(), title, created: Date.now()}),
            )
          }
        />
        <div className="filters">
          <select
            aria-label="status"
            value={filter.open === null ? 'all' : filter.open ? 'open' : 'closed'}
            onChange={e =>
              setFilter({
                ...filter,
                open: e.target.value === 'all' ? null : e.target.value === 'open',
              })
            }
          >
            <option value="all">All</option>
            <option value="open">Open</option>
            <option value="closed">Closed</option>
          </select>
          <select
            aria-label="owner"
            value={filter.ownerID ?? ''}
            onChange={e => setFilter({...filter, ownerID: e.target.value || null})}
          >
            <option value="">Anyone</option>
            {people.map(p => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
          <input
            aria-label="search"
            placeholder="Search titles"
            value={filter.text}
            onChange={e => setFilter({...filter, text: e.target.value})}
          />
          <small>
            {rows.length} issue{rows.length === 1 ? '' : 's'}
            {details.type === 'complete' ? '' : ' (syncing…)'}
          </small>
        </div>
        <div data-testid="issues">
          {rows.map(issue => (
            <IssueRow
              key={issue.id}
              issue={issue}
              ownerName={issue.owner?.name ?? issue.ownerID}
              onEdit={change => track('Editing', zero.mutate.issue.edit({id: issue.id, ...change}))}
              onDelete={() => track('Deleting', zero.mutate.issue.remove({id: issue.id}))}
            />
          ))}
        </div>
      </div>

      {isAdmin && <AdminView user={props.user} />}
    </main>
  );
}

export function NewIssue(props: {onCreate: (title: string) => void}) {
  const [title, setTitle] = useState('');
  return (
    <form
      onSubmit={e => {
        e.preventDefault();
        if (title.trim() === '') return;
        props.onCreate(title);
        setTitle('');
      }}
    >
      <input
        aria-label="new issue title"
        placeholder="What needs doing?"
        value={title}
        onChange={e => setTitle(e.target.value)}
        style={{flex: 1}}
      />
      <button className="primary" type="submit">
        Add
      </button>
    </form>
  );
}

export function IssueRow(props: {
  issue: Issue;
  ownerName: string;
  onEdit: (change: {title?: string; open?: boolean}) => void;
  onDelete: () => void;
}) {
  const {issue} = props;
  const [editing, setEditing] = useState<string>();
  return (
    <div className={`row ${issue.open ? '' : 'closed'}`} data-id={issue.id}>
      <input
        type="checkbox"
        aria-label="open"
        checked={!issue.open}
        onChange={() => props.onEdit({open: !issue.open})}
      />
      {editing === undefined ? (
        <span className="title">{issue.title}</span>
      ) : (
        <form
          style={{flex: 1, margin: 0}}
          onSubmit={e => {
            e.preventDefault();
            props.onEdit({title: editing});
            setEditing(undefined);
          }}
        >
          <input
            aria-label="title"
            value={editing}
            autoFocus
            onChange={e => setEditing(e.target.value)}
            style={{flex: 1}}
          />
          <button type="submit">Save</button>
        </form>
      )}
      <span className="owner">{props.ownerName}</span>
      <small>{new Date(issue.created).toLocaleDateString()}</small>
      <button onClick={() => setEditing(issue.title)}>Edit</button>
      <button onClick={props.onDelete}>Delete</button>
    </div>
  );
}

/** Only rendered for admins; its data also only reaches admins (see shared/queries.ts). */
function AdminView(props: {user: User}) {
  const [entries, details] = useQuery(auditLog({sub: props.user.id, role: props.user.role}));
  return (
    <div className="panel" data-testid="admin-view">
      <h2>Audit log (admins only)</h2>
      {details.type === 'error' && <div className="error">The audit log is not available.</div>}
      {entries.map(e => (
        <div className="row" key={e.id}>
          <small>{new Date(e.at).toLocaleString()}</small>
          <span className="owner">{e.actorID}</span>
          <span>{e.action}</span>
          <span className="title">{e.title}</span>
        </div>
      ))}
    </div>
  );
}
