/**
 * Delivers login codes. With SMTP configured it sends mail; without, it keeps the message
 * in the outbox (read through the admin API) and logs it, so a self-hoster can still log in.
 */
import nodemailer from 'nodemailer'
import type { ServiceContext } from '../context.ts'
import { ApiError } from '../errors.ts'

export type MessageKind = 'email_code' | 'sms_code'

export class Mailer {
  private readonly transport

  constructor(private readonly ctx: ServiceContext) {
    this.transport = ctx.config.smtp ? nodemailer.createTransport(ctx.config.smtp.url) : undefined
  }

  async deliverCode(account: string, kind: MessageKind, code: string): Promise<void> {
    if (this.transport && kind === 'email_code') {
      try {
        await this.transport.sendMail({
          from: this.ctx.config.smtp!.from,
          to: account,
          subject: `Your bambu-cloud verification code: ${code}`,
          text: `Your verification code is ${code}. It is valid for 5 minutes.\n\nIf you did not ask for it, ignore this message.`,
        })
      } catch (err) {
        this.ctx.log.error({ err: { message: (err as Error).message } }, 'could not send a login code by mail')
        throw new ApiError('unavailable', 'The code could not be sent; try again later')
      }
      return
    }
    await this.ctx.database.db
      .insertInto('outbox')
      .values({ account, kind, code, created_at: this.ctx.now() })
      .execute()
    // Deliberate: with no mail server this log line is how an operator reads the code.
    this.ctx.log.info({ account, kind }, `login code for ${account}: ${code} (no SMTP configured; also in the admin outbox)`)
  }

  async outbox(account?: string) {
    let q = this.ctx.database.db.selectFrom('outbox').selectAll().orderBy('id', 'desc').limit(500)
    if (account !== undefined) q = q.where('account', '=', account.trim().toLowerCase())
    return q.execute()
  }

  async close(): Promise<void> {
    this.transport?.close()
  }
}
