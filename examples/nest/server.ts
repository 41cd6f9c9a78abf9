// latchkey in NestJS on Express (@nestjs/platform-express, Nest's default):
// sign in, a page showing the session, sign out, sign out everywhere.
// Run: npm run build && npx tsc -p examples/nest && PORT=3000 node examples/nest/dist/nest/server.js
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.js';
import { port } from '../shared/page.js';

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
await app.listen(port, '127.0.0.1');
console.log(`listening on http://127.0.0.1:${port}`);
