/** Builds every service once, wired together; routes, the admin API and the CLI share them. */
import type { ServiceContext } from '../context.ts'
import { AccountService } from './accounts.ts'
import { DeviceStateService } from './device-state.ts'
import { DeviceService } from './devices.ts'
import { LoginCodeService } from './login-codes.ts'
import { LoginService } from './login.ts'
import { Mailer } from './mailer.ts'
import { MessageService } from './messages.ts'
import { ProjectService } from './projects.ts'
import { RateLimiter } from './rate-limiter.ts'
import { SlicerResourceService } from './slicer-resources.ts'
import { SlicerSettingService } from './slicer-settings.ts'
import { TfaService } from './tfa.ts'
import { TaskService } from './tasks.ts'
import { TicketService } from './tickets.ts'
import { TokenService } from './tokens.ts'

export interface Services {
  accounts: AccountService
  tokens: TokenService
  tickets: TicketService
  login: LoginService
  mailer: Mailer
  slicerResources: SlicerResourceService
  slicerSettings: SlicerSettingService
  devices: DeviceService
  deviceState: DeviceStateService
  tasks: TaskService
  messages: MessageService
  projects: ProjectService
}

export function createServices(ctx: ServiceContext): Services {
  const tokens = new TokenService(ctx)
  const accounts = new AccountService(ctx, tokens)
  const mailer = new Mailer(ctx)
  const tickets = new TicketService(ctx)
  const login = new LoginService(
    ctx,
    accounts,
    tokens,
    new LoginCodeService(ctx, mailer),
    new TfaService(ctx),
    tickets,
    new RateLimiter(ctx),
  )
  const tasks = new TaskService(ctx)
  return {
    accounts,
    tokens,
    tickets,
    login,
    mailer,
    slicerResources: new SlicerResourceService(ctx),
    slicerSettings: new SlicerSettingService(ctx),
    devices: new DeviceService(ctx, accounts),
    deviceState: new DeviceStateService(ctx, tasks),
    tasks,
    messages: new MessageService(ctx, tasks),
    projects: new ProjectService(ctx),
  }
}
