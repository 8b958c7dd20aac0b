// Client-side checks that mirror shared/nexavpn_shared/netaddr.py, so an admin sees a mistake
// before submitting. The server stays the judge: its field errors are shown the same way.

const PREFIX_RE = /^[0-9]{1,3}$/
const HEXTET_RE = /^[0-9a-fA-F]{1,4}$/
const OCTET_RE = /^[0-9]{1,3}$/
const HOST_LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/
const FORBIDDEN_CHARS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}]/u

interface ParsedIp {
  version: 4 | 6
  value: bigint
  bits: number
}

/** IPv4 as Python's ipaddress parses it: four decimal octets, no leading zeros. */
export function parseIPv4(text: string): bigint | null {
  const parts = text.split('.')
  if (parts.length !== 4) return null
  let value = 0n
  for (const part of parts) {
    if (!OCTET_RE.test(part)) return null
    if (part.length > 1 && part.startsWith('0')) return null
    const n = Number(part)
    if (n > 255) return null
    value = (value << 8n) | BigInt(n)
  }
  return value
}

/** IPv6 following Python's ipaddress rules (one "::", optional dotted IPv4 tail). */
export function parseIPv6(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null
  const parts = text.split(':')
  if (parts.length < 3) return null
  const last = parts[parts.length - 1] ?? ''
  if (last.includes('.')) {
    const v4 = parseIPv4(last)
    if (v4 === null) return null
    parts.pop()
    parts.push(((v4 >> 16n) & 0xffffn).toString(16), (v4 & 0xffffn).toString(16))
  }
  if (parts.length > 9) return null
  let skip: number | null = null
  for (let i = 1; i < parts.length - 1; i++) {
    if (parts[i] === '') {
      if (skip !== null) return null
      skip = i
    }
  }
  let hi: number
  let lo: number
  let skipped: number
  if (skip !== null) {
    hi = skip
    lo = parts.length - skip - 1
    if (parts[0] === '') {
      hi -= 1
      if (hi) return null
    }
    if (parts[parts.length - 1] === '') {
      lo -= 1
      if (lo) return null
    }
    skipped = 8 - (hi + lo)
    if (skipped < 1) return null
  } else {
    if (parts.length !== 8) return null
    if (parts[0] === '' || parts[parts.length - 1] === '') return null
    hi = parts.length
    lo = 0
    skipped = 0
  }
  let value = 0n
  const hextet = (p: string | undefined): bigint | null =>
    p !== undefined && HEXTET_RE.test(p) ? BigInt(parseInt(p, 16)) : null
  for (let i = 0; i < hi; i++) {
    const h = hextet(parts[i])
    if (h === null) return null
    value = (value << 16n) | h
  }
  value <<= 16n * BigInt(skipped)
  for (let i = parts.length - lo; i < parts.length; i++) {
    const h = hextet(parts[i])
    if (h === null) return null
    value = (value << 16n) | h
  }
  return value
}

function parseIp(text: string): ParsedIp | null {
  if (!text || text.includes('%')) return null
  const v4 = parseIPv4(text)
  if (v4 !== null) return { version: 4, value: v4, bits: 32 }
  if (!text.includes(':')) return null
  const v6 = parseIPv6(text)
  return v6 === null ? null : { version: 6, value: v6, bits: 128 }
}

/** The server refuses values with surrounding white space instead of guessing what was meant. */
const WHITESPACE = 'must not start or end with white space'

/** null when `text` is a network CIDR the server accepts, else the reason (no echo of input). */
export function cidrError(raw: string): string | null {
  if (raw !== raw.trim()) return WHITESPACE
  const text = raw
  let addrText = text
  let prefix: number | null = null
  if (text.includes('/')) {
    const slash = text.indexOf('/')
    addrText = text.slice(0, slash)
    const prefixText = text.slice(slash + 1)
    if (!PREFIX_RE.test(prefixText)) return 'prefix length must be a decimal number'
    prefix = Number(prefixText)
  }
  const ip = parseIp(addrText)
  if (!ip) return 'must be an IPv4 or IPv6 address'
  const length = prefix ?? ip.bits
  if (length > ip.bits) return `prefix length must be 0-${ip.bits}`
  const hostBits = BigInt(ip.bits - length)
  const hostMask = (1n << hostBits) - 1n
  if ((ip.value & hostMask) !== 0n) return 'host bits are set; use the network address of the CIDR'
  return null
}

/** null when `text` is a bare IPv4/IPv6 address. */
export function ipError(raw: string): string | null {
  if (raw !== raw.trim()) return WHITESPACE
  return parseIp(raw) ? null : 'must be an IPv4 or IPv6 address'
}

function isHostname(text: string): boolean {
  if (!text || text.length > 253 || !/^[\x00-\x7f]*$/.test(text)) return false
  const labels = text.split('.')
  if (!labels.every((label) => HOST_LABEL_RE.test(label))) return false
  return !/^[0-9]+$/.test(labels[labels.length - 1] ?? '')
}

function portOk(text: string): boolean {
  if (!/^[0-9]{1,5}$/.test(text)) return false
  const n = Number(text)
  return n >= 1 && n <= 65535
}

/** null when `text` is host:port, IPv4:port or [IPv6]:port. */
export function endpointError(raw: string): string | null {
  const text = raw.trim()
  const message = 'must be host:port, IPv4:port or [IPv6]:port with a port 1-65535'
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0 || text[close + 1] !== ':') return message
    const ip = parseIp(text.slice(1, close))
    if (!ip || ip.version !== 6) return message
    return portOk(text.slice(close + 2)) ? null : message
  }
  const colon = text.lastIndexOf(':')
  if (colon < 0) return message
  const host = text.slice(0, colon)
  if (host.includes(':')) return message
  if (parseIPv4(host) === null && !isHostname(host)) return message
  return portOk(text.slice(colon + 1)) ? null : message
}

/** The port of a valid endpoint, else null. */
export function endpointPort(raw: string): number | null {
  if (endpointError(raw)) return null
  return Number(raw.trim().slice(raw.trim().lastIndexOf(':') + 1))
}

/** null when `text` is a name the server accepts (1-64 characters after trimming, printable). */
export function nameError(raw: string, maxLen = 64): string | null {
  const text = raw.trim()
  if (text.length < 1 || [...text].length > maxLen) return `must be 1-${maxLen} characters`
  if (FORBIDDEN_CHARS.test(text)) return 'must not contain control, format or line separator characters'
  return null
}

/** Split a textarea/comma list into trimmed, non-empty entries. */
export function splitList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

/** The first problem in a list of CIDRs, naming the entry. */
export function destinationsError(entries: string[]): string | null {
  for (const [i, entry] of entries.entries()) {
    const err = cidrError(entry)
    if (err) return `Entry ${i + 1}: ${err}`
  }
  return null
}

/** The server's password rules (services/passwords.py), shown before submit and checked here. */
export const PASSWORD_MIN = 8
export const PASSWORD_MAX = 1024

export function passwordError(password: string): string | null {
  if (password.length < PASSWORD_MIN) return `Password must be at least ${PASSWORD_MIN} characters.`
  if (password.length > PASSWORD_MAX) return `Password must be at most ${PASSWORD_MAX} characters.`
  return null
}
