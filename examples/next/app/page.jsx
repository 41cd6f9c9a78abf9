// The protected page: a server component reads the session (read-only).
import { redirect } from 'next/navigation';
import { session, sessions } from '../lib/session.js';
import { addNote, signOut, signOutEverywhere } from './actions.js';

export default async function Home() {
  const s = await session.read();
  if (!s.isAuthenticated) redirect('/login');
  const notes = Array.isArray(s.get('notes')) ? s.get('notes') : [];
  // Stateful mode knows the user's other sessions; sealed mode keeps none on the server.
  const devices = sessions === null ? null : await sessions.list(s.userId);
  return (
    <main>
      <h1>
        Signed in as <span id="user">{s.userId}</span>
      </h1>
      {devices !== null && (
        <p>
          Sessions of this user: <span id="devices">{devices.length}</span>
        </p>
      )}
      <ul id="notes">
        {notes.map((n, i) => (
          <li key={i}>{n}</li>
        ))}
      </ul>
      <form action={addNote}>
        <input name="note" aria-label="note" />
        <button id="add">Add note</button>
      </form>
      <form action={signOut}>
        <button id="signout">Sign out</button>
      </form>
      <form action={signOutEverywhere}>
        <button id="everywhere">Sign out everywhere</button>
      </form>
    </main>
  );
}
