/**
 * Every word the sign-in page shows, one table per language. A language is added by adding
 * a table (the type makes it complete); a tag with no table gets English.
 */

export interface SignInWords {
  signIn: string
  account: string
  password: string
  enterCode: string
  /** `{account}` is replaced by the account, in bold. */
  codeSent: string
  verificationCode: string
  sendNewCode: string
  newCodeSent: string
  tfaTitle: string
  tfaHint: string
  tfaCode: string
  verify: string
  startOver: string
  /** Put before a page's title when the page shows an error. */
  errorTitle: string
  signedInTitle: string
  signedInHeading: string
  /** `{name}` is replaced by the user's name, in bold. */
  signedInAs: string
  missingFields: string
  incorrectPassword: string
  incorrectCode: string
  codeExpired: string
  tfaFailed: string
  /** The form came without this browser's CSRF token (expired cookie, or posted from elsewhere). */
  formExpired: string
}

const en: SignInWords = {
  signIn: 'Sign in',
  account: 'Email or phone',
  password: 'Password',
  enterCode: 'Enter your code',
  codeSent: 'We sent a 6-digit code to {account}. It is valid for 5 minutes.',
  verificationCode: 'Verification code',
  sendNewCode: 'Send a new code',
  newCodeSent: 'A new code is on its way.',
  tfaTitle: 'Two-factor authentication',
  tfaHint: 'Enter the 6-digit code from your authenticator app.',
  tfaCode: 'Authentication code',
  verify: 'Verify',
  startOver: 'Start over with a different account',
  errorTitle: 'Error: ',
  signedInTitle: 'Signed in',
  signedInHeading: 'You are signed in',
  signedInAs: 'Signed in as {name}. You can close this page.',
  missingFields: 'Enter your account and password.',
  incorrectPassword: 'Incorrect account or password.',
  incorrectCode: 'That code is not right. Try again.',
  codeExpired: 'That code has expired. Ask for a new one.',
  tfaFailed: 'That code did not work. Try the current one from your app.',
  formExpired: 'This form has expired. Please try again.',
}

const de: SignInWords = {
  signIn: 'Anmelden',
  account: 'E-Mail oder Telefon',
  password: 'Passwort',
  enterCode: 'Code eingeben',
  codeSent: 'Wir haben einen 6-stelligen Code an {account} gesendet. Er ist 5 Minuten gültig.',
  verificationCode: 'Bestätigungscode',
  sendNewCode: 'Neuen Code senden',
  newCodeSent: 'Ein neuer Code ist unterwegs.',
  tfaTitle: 'Zwei-Faktor-Authentifizierung',
  tfaHint: 'Gib den 6-stelligen Code aus deiner Authenticator-App ein.',
  tfaCode: 'Authentifizierungscode',
  verify: 'Bestätigen',
  startOver: 'Mit einem anderen Konto neu beginnen',
  errorTitle: 'Fehler: ',
  signedInTitle: 'Angemeldet',
  signedInHeading: 'Du bist angemeldet',
  signedInAs: 'Angemeldet als {name}. Du kannst diese Seite schließen.',
  missingFields: 'Gib dein Konto und dein Passwort ein.',
  incorrectPassword: 'Konto oder Passwort ist falsch.',
  incorrectCode: 'Dieser Code ist nicht richtig. Versuche es noch einmal.',
  codeExpired: 'Dieser Code ist abgelaufen. Fordere einen neuen an.',
  tfaFailed: 'Dieser Code hat nicht funktioniert. Nimm den aktuellen aus deiner App.',
  formExpired: 'Dieses Formular ist abgelaufen. Bitte versuche es noch einmal.',
}

const LANGUAGES: Record<string, SignInWords> = { en, de }

/** A well-formed language tag as the slicer sends it (`en`, `de`, `zh-CN`, `pt-BR`, `sr-Latn-RS`). */
const TAG = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,4}$/

export function isLanguageTag(tag: string): boolean {
  return TAG.test(tag)
}

/** The words for a tag, and the language they are in: the whole tag, then its language, then English. */
export function wordsFor(tag: string | undefined): { lang: string; words: SignInWords } {
  const lower = tag?.toLowerCase()
  for (const candidate of [lower, lower?.split('-')[0]]) {
    if (candidate !== undefined && Object.hasOwn(LANGUAGES, candidate)) return { lang: candidate, words: LANGUAGES[candidate]! }
  }
  return { lang: 'en', words: en }
}
