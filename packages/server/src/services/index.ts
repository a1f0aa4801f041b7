/** Builds every service once, wired together; routes, the admin API and the CLI share them. */
import path from 'node:path'
import type { ServiceContext } from '../context.ts'
import type { BlobStore } from '../storage/blob-store.ts'
import { FsBlobStore } from '../storage/fs-blob-store.ts'
import { AccountService } from './accounts.ts'
import { DeviceStateService } from './device-state.ts'
import { DeviceService } from './devices.ts'
import { FileLinks } from './file-links.ts'
import { FileService } from './files.ts'
import { LoginCodeService } from './login-codes.ts'
import { LoginGuard } from './login-guard.ts'
import { LoginService } from './login.ts'
import { Mailer } from './mailer.ts'
import { MessageService } from './messages.ts'
import { PrintFileService } from './print-files.ts'
import { ProjectService } from './projects.ts'
import { SlicerResourceService } from './slicer-resources.ts'
import { SlicerSettingService } from './slicer-settings.ts'
import { TfaService } from './tfa.ts'
import { TaskService } from './tasks.ts'
import { TicketService } from './tickets.ts'
import { TokenService } from './tokens.ts'
import { UploadService } from './uploads.ts'

export interface Services {
  accounts: AccountService
  tokens: TokenService
  tickets: TicketService
  login: LoginService
  /** Limits on guessing secrets, shared by HTTP logins and the MQTT broker. */
  loginGuard: LoginGuard
  mailer: Mailer
  slicerResources: SlicerResourceService
  slicerSettings: SlicerSettingService
  devices: DeviceService
  deviceState: DeviceStateService
  tasks: TaskService
  messages: MessageService
  projects: ProjectService
  /** Uploaded files, under DATA_DIR/files. */
  blobs: BlobStore
  fileLinks: FileLinks
  files: FileService
  uploads: UploadService
  printFiles: PrintFileService
}

export function createServices(ctx: ServiceContext): Services {
  const tokens = new TokenService(ctx)
  const accounts = new AccountService(ctx, tokens)
  const mailer = new Mailer(ctx)
  const tickets = new TicketService(ctx)
  const loginGuard = new LoginGuard(ctx)
  const login = new LoginService(
    ctx,
    accounts,
    tokens,
    new LoginCodeService(ctx, mailer),
    new TfaService(ctx),
    tickets,
    loginGuard,
  )
  const tasks = new TaskService(ctx)
  const projects = new ProjectService(ctx)
  const blobs = new FsBlobStore(path.join(ctx.config.dataDir, 'files'))
  const fileLinks = new FileLinks(ctx)
  const printFiles = new PrintFileService(ctx, fileLinks, blobs)
  return {
    accounts,
    tokens,
    tickets,
    login,
    loginGuard,
    mailer,
    slicerResources: new SlicerResourceService(ctx),
    slicerSettings: new SlicerSettingService(ctx),
    devices: new DeviceService(ctx, accounts),
    deviceState: new DeviceStateService(ctx, tasks),
    tasks,
    messages: new MessageService(ctx, tasks),
    projects,
    blobs,
    fileLinks,
    files: new FileService(fileLinks, blobs),
    uploads: new UploadService(ctx, projects, fileLinks, blobs, printFiles),
    printFiles,
  }
}
