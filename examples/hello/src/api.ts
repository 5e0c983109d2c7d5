// The page's calls to the app's API server (through the dev server's proxy: same origin).
import type {AuthData, User} from '../shared/schema.ts';

export type AuthMode = 'secret' | 'jwks' | 'cookie';
export type AppConfig = {mode: AuthMode; cachePort: number};
export type Session = {user: User; token?: string | undefined};

async function post<T>(path: string, body?: unknown): Promise<T | undefined> {
  const res = await fetch(path, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify(body ?? {}),
  });
  if (!res.ok) return undefined;
  return (await res.json()) as T;
}

export async function getConfig(): Promise<AppConfig> {
  return (await (await fetch('/api/config')).json()) as AppConfig;
}

export async function listUsers(): Promise<User[]> {
  return (await (await fetch('/api/users')).json()) as User[];
}

export function login(userID: string): Promise<Session | undefined> {
  return post<Session>('/api/login', {userID});
}

/** The current session from the HttpOnly cookie, with a fresh access token (not in cookie mode). */
export function refresh(): Promise<Session | undefined> {
  return post<Session>('/api/refresh');
}

export async function logout(): Promise<void> {
  await post('/api/logout');
}

export function authDataOf(user: User): AuthData {
  return {sub: user.id, role: user.role};
}
