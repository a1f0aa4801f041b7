/** Shapes shared by many routes: the error envelope and the iot-service success envelope. */
import { Type, type TSchema, type TProperties } from '@sinclair/typebox'

/** The error body every failing route answers with. */
export const ErrorBodySchema = Type.Object(
  {
    code: Type.Integer(),
    error: Type.String(),
    message: Type.Optional(Type.String()),
  },
  { $id: 'ErrorBody', description: 'Error envelope' },
)

/** A successful iot-service answer: `{"message":"success","code":null,"error":null, ...fields}`. */
export function IotSuccess<P extends TProperties>(properties: P, description?: string) {
  return Type.Object(
    {
      message: Type.Literal('success'),
      code: Type.Null(),
      error: Type.Null(),
      ...properties,
    },
    description === undefined ? {} : { description },
  )
}

/** A JSON object whose contents the API carries unchanged (a preset's `setting`, say). */
export const FreeObject = Type.Object({}, { additionalProperties: true })

/** The largest value a 32-bit column keeps (task status, plate index, message type): larger is refused in validation. */
export const INT32_MAX = 2 ** 31 - 1

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
