// The same application on Nest's Fastify platform (@nestjs/platform-fastify).
// Run: npm run build && npx tsc -p examples/nest && PORT=3000 node examples/nest/dist/nest/fastify.js
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.js';
import { port } from '../shared/page.js';

const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { logger: ['error', 'warn'] });
await app.listen(port, '127.0.0.1');
console.log(`listening on http://127.0.0.1:${port}`);
