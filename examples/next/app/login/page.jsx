import { signIn } from '../actions.js';

export default function Login() {
  return (
    <main>
      <h1>Sign in</h1>
      <form action={signIn}>
        <input name="username" aria-label="username" />
        <button id="signin">Sign in</button>
      </form>
    </main>
  );
}
