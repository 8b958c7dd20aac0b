// Display helpers. Times are shown in UTC so every admin reads the same clock as the audit log.

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** `datetime-local` value (read as UTC) → ISO 8601 for the API; '' stays ''. */
export function utcInputToIso(value: string): string {
  if (!value) return ''
  return value.length === 16 ? `${value}:00Z` : `${value}Z`
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message
  return 'Something went wrong.'
}

/** A WireGuard public key shortened for tables: its first 8 characters, as `wg show` starts. */
export function keyFingerprint(publicKey: string | null | undefined): string {
  if (!publicKey) return '—'
  return publicKey.length > 8 ? `${publicKey.slice(0, 8)}…` : publicKey
}
