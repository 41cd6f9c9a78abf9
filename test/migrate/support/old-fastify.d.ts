/** The old Fastify application on @fastify/session, with this express-session-compatible store and secret. */
export function oldFastifyApp(options: { store: object; secret: string }): Promise<{ url: string; close(): Promise<void> }>;
