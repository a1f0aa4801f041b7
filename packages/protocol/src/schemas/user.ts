/** Identity shapes: user-service profile and design-user-service preference. */
import { Type, type Static } from '@sinclair/typebox'
import { FreeObject } from './common.ts'

/** `GET /v1/user-service/my/profile`. Bambu Studio reads the string fields strictly as strings. */
export const Profile = Type.Object({
  uid: Type.Integer(),
  uidStr: Type.String(),
  account: Type.String(),
  name: Type.String(),
  avatar: Type.String(),
  setting: FreeObject,
})
export type Profile = Static<typeof Profile>

/** `GET /v1/design-user-service/my/preference`; `u_<uid>` is the MQTT user name. */
export const Preference = Type.Object({
  uid: Type.Integer(),
  name: Type.String(),
  handle: Type.String(),
  avatar: Type.String(),
  bio: Type.String(),
  links: Type.Array(Type.String()),
  backgroundUrl: Type.String(),
})
export type Preference = Static<typeof Preference>
