/** @type {import('next').NextConfig} */
// The example's edge variant: Next 16 refuses an app with both middleware.js
// and proxy.js, so edge middleware gets an app of its own. It shares the
// example's lib/session.js (LATCHKEY_MODE=sealed or remote).
export default {};
