// A static page: the forms post to edge route handlers, which sign in and out.
export default function Home() {
  return (
    <main>
      <h1>latchkey on the edge runtime</h1>
      <form method="post" action="/api/signin">
        <input name="username" aria-label="username" />
        <button id="signin">Sign in</button>
      </form>
      <form method="post" action="/api/signout">
        <button id="signout">Sign out</button>
      </form>
    </main>
  );
}
