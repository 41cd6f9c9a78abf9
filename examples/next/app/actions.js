'use server';
// Server actions: they read and write the session; latchkey sets its cookies
// through Next.js's cookie store. Next.js checks each action's Origin.
import { redirect } from 'next/navigation';
import { session } from '../lib/session.js';

export async function signIn(form) {
  // Check the password here; latchkey only manages the session.
  const username = String(form.get('username') ?? '').trim() || 'guest';
  await session.action(async (s) => {
    await s.login(username, { authLevel: 1 });
    // redirect() throws: latchkey saves the session (and sets its cookie) first.
    redirect('/');
  });
}

export async function addNote(form) {
  const note = String(form.get('note') ?? '').slice(0, 200);
  await session.action(async (s) => {
    await s.load();
    s.requireUser();
    const notes = Array.isArray(s.get('notes')) ? s.get('notes') : [];
    s.set('notes', [...notes, note]);
  });
  redirect('/');
}

export async function signOut() {
  await session.action(async (s) => {
    await s.load();
    await s.logout();
  });
  redirect('/login');
}

export async function signOutEverywhere() {
  await session.action(async (s) => {
    await s.load();
    await s.logoutEverywhere();
  });
  redirect('/login');
}
