// Types of the NexaVPN API v1 (docs/api.md), derived from ./schema.d.ts, which
// scripts/gen-api-types.sh generates from the OpenAPI document the backend serves (the test run
// fails while it is stale). Never edit schema.d.ts; when the API changes, regenerate it and these
// names follow. Only what the document cannot say is written by hand here (generic pages, the
// UI's filter forms); tests/adminui/test_types_match_openapi.py checks those interfaces.

import type { components } from './schema'

type Schemas = components['schemas']

/** Every field present: the server sends each documented field (null where allowed). */
type Sent<T> = T extends (infer U)[]
  ? Sent<U>[]
  : T extends object
    ? { [K in keyof T]-?: Sent<Exclude<T[K], undefined>> }
    : T

/** An answer body, as the server sends it. */
type Body<K extends keyof Schemas> = Sent<Schemas[K]>

/** IDs are opaque: never parse them, only pass them back. */
export type Id = string | number

/** ISO 8601 UTC timestamp. */
export type Timestamp = string

export type Role = Body<'User'>['role']
export type Platform = Schemas['Enroll']['platform']
export type DeviceStatus = Body<'Device'>['status']
export type GatewayStatus = Body<'Gateway'>['status']
export type ActorType = Body<'AuditLog'>['actor_type']
export type TargetType = Exclude<Body<'AuditLog'>['target_type'], null>
export type ErrorCode = Body<'ErrorBody'>['code']

/** Every list answer. */
export interface Page<T> {
  items: T[]
  page: number
  per_page: number
  total: number
}

/** The body of every error: {"error": {...}}. */
export type ErrorBody = Schemas['ErrorBody']
export type ErrorEnvelope = Schemas['Error']

export type SessionUser = Body<'SessionUser'>
/** A sign-in that gave tokens (the TOTP challenge shape is api/client.ts's MfaChallenge). */
export type LoginResponse = Omit<Body<'LoginResponse'>, 'mfa_required' | 'mfa_token' | 'methods'>
export type RefreshResponse = Body<'RefreshResponse'>
export type Health = Body<'Health'>
export type Providers = Body<'Providers'>
export type Provider = Body<'Provider'>
export type TotpSetup = Body<'TotpSetup'>
export type RecoveryCodes = Body<'RecoveryCodes'>

export type User = Body<'User'>
export type UserCreate = Schemas['UserCreate']
export type UserUpdate = Schemas['UserUpdate']

export type Policy = Body<'Policy'>
/** Create and PATCH bodies alike: the UI sends what the form changed. */
export type PolicyWrite = Partial<Schemas['PolicyWrite']>

export type Gateway = Body<'Gateway'>
/** The create answer: the only time the agent token is ever shown. */
export type GatewayCreated = Body<'GatewayCreated'>
export type GatewayWrite = Partial<Schemas['GatewayWrite']>
/** The certificate the server itself presents (null behind a TLS-terminating proxy). */
export type ServerCertificate = Body<'ServerCertificate'>
export type ServerInfo = Omit<Body<'ServerInfo'>, 'tls'> & { tls: ServerCertificate | null }

export type Device = Body<'Device'>
export type AuditLog = Body<'AuditLog'>
/** An item of GET /audit-logs: the event plus the actor's / target's name today. */
export type AuditEntry = Body<'AuditLog'>
export type DeviceCounts = Body<'DeviceCounts'>
export type GatewayCounts = Body<'GatewayCounts'>
export type Dashboard = Body<'Dashboard'>

/** The Devices page's filter form (query values as typed). */
export interface DeviceFilters {
  user_id?: string
  status?: string
  gateway_id?: string
}

/** The Audit page's filter form (query values as typed). */
export interface AuditFilters {
  /** User or gateway name of the actor (case-insensitive). */
  actor?: string
  /** Name of the target user, policy, gateway or device (case-insensitive). */
  target?: string
  actor_id?: string
  action?: string
  target_type?: string
  target_id?: string
  since?: string
  until?: string
}
