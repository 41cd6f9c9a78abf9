// latchkey in NestJS: the application module and its controller, the same
// on Nest's Express and Fastify platforms (server.ts and fastify.ts start it).
import { Body, Controller, Get, Header, Module, Post, Redirect, UseGuards } from '@nestjs/common';
import { createSessions } from 'latchkey';
import { memoryStore } from 'latchkey/stores/memory';
import { LatchkeyModule, Session, SessionGuard, type RequestSession } from 'latchkey/nest';
import { homePage, localOptions } from '../shared/page.js';

const sessions = createSessions({ store: memoryStore(), idleTimeout: '30m', absoluteTimeout: '12h' });

@Controller()
export class HomeController {
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  async home(@Session() request: RequestSession): Promise<string> {
    const session = await request.load();
    if (session.isAuthenticated) session.set('visits', Number(session.get('visits') ?? 0) + 1);
    const devices = session.userId === null ? [] : await sessions.list(session.userId);
    return homePage(session, devices);
  }

  // Signed-in users only: 401 `unauthenticated` (JSON) for visitors.
  @Get('account')
  @UseGuards(SessionGuard)
  account(@Session() session: RequestSession): { user: string | null } {
    return { user: session.userId };
  }

  @Post('login')
  @Redirect('/', 303)
  async login(@Session() session: RequestSession, @Body() body: { username?: string }): Promise<void> {
    // Check the password here; latchkey only manages the session.
    await session.login(String(body.username ?? 'guest'), { authLevel: 1 });
  }

  @Post('logout')
  @Redirect('/', 303)
  async logout(@Session() session: RequestSession): Promise<void> {
    await session.logout();
  }

  @Post('logout-everywhere')
  @Redirect('/', 303)
  async logoutEverywhere(@Session() session: RequestSession): Promise<void> {
    await session.logoutEverywhere();
  }
}

@Module({
  imports: [LatchkeyModule.forRoot({ sessions, ...localOptions() })],
  controllers: [HomeController],
})
export class AppModule {}
