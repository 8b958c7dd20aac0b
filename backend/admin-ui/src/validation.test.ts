import { describe, expect, it } from 'vitest'
import { cidrError, destinationsError, endpointError, endpointPort, ipError, nameError, splitList } from './validation'

// Expected answers taken from the server's own rules (nexavpn_shared.netaddr.normalize_network /
// validate_endpoint run on the same inputs), so the form rejects exactly what the API rejects.
const HOST = 'host bits are set; use the network address of the CIDR'
const ADDR = 'must be an IPv4 or IPv6 address'
const PREFIX = 'prefix length must be a decimal number'
const CIDR_CASES: [string, string | null][] = [
  ['10.20.0.0/24', null],
  ['10.20.0.1/24', HOST],
  ['10.0.0.1', null],
  ['0.0.0.0/0', null],
  ['::/0', null],
  ['fd00:20::/64', null],
  ['fd00:20::1/64', HOST],
  ['010.0.0.0/8', ADDR],
  ['10.0.0.0/33', 'prefix length must be 0-32'],
  ['10.0.0.0/ 8', PREFIX],
  ['10.0.0.0/0x8', PREFIX],
  ['fe80::1%eth0/128', ADDR],
  ['1:2:3:4:5:6:7::/128', null],
  ['1:2:3:4:5:6:7:8:9/128', ADDR],
  ['::ffff:10.0.0.0/120', null],
  ['::ffff:10.0.0.1/120', HOST],
  [':1::/64', ADDR],
  ['1::2::/64', ADDR],
  ['256.1.1.1/32', ADDR],
  ['', ADDR],
  ['1.2.3/24', ADDR],
  ['fd00::/129', 'prefix length must be 0-128'],
  ['  10.1.0.0/16  ', 'must not start or end with white space'],
  ['12345::/16', ADDR],
  ['1:2:3:4:5:6:7:8::/128', ADDR],
  ['::1.2.3.4/128', null],
  ['10.0.0.0/08', null],
]

const ENDPOINT_CASES: [string, boolean][] = [
  ['vpn.example.com:51820', true],
  ['1.2.3.4:51820', true],
  ['[fd00::1]:51820', true],
  ['fd00::1:51820', false],
  ['host:0', false],
  ['host:65536', false],
  ['-bad.com:1', false],
  ['1.2.3.4', false],
  ['example.123:5', false],
  ['[1.2.3.4]:5', false],
]

describe('cidrError matches the server', () => {
  it.each(CIDR_CASES)('%j → %s', (input, expected) => {
    expect(cidrError(input)).toBe(expected)
  })
})

describe('endpointError matches the server', () => {
  it.each(ENDPOINT_CASES)('%j valid=%s', (input, valid) => {
    expect(endpointError(input) === null).toBe(valid)
  })
  it('reads the port', () => {
    expect(endpointPort('vpn.example.com:51821')).toBe(51821)
    expect(endpointPort('[fd00::1]:4500')).toBe(4500)
    expect(endpointPort('nonsense')).toBeNull()
  })
})

describe('other checks', () => {
  it('names', () => {
    expect(nameError('  office  ')).toBeNull()
    expect(nameError('   ')).toBe('must be 1-64 characters')
    expect(nameError('x'.repeat(65))).toBe('must be 1-64 characters')
    expect(nameError('a\u2028b')).toMatch(/separator/)
    expect(nameError('a\u0007b')).toMatch(/control/)
  })
  it('ip addresses', () => {
    expect(ipError('1.1.1.1')).toBeNull()
    expect(ipError('2606:4700:4700::1111')).toBeNull()
    expect(ipError('1.1.1.1/32')).toBe(ADDR)
  })
  it('lists and destinations', () => {
    expect(splitList('10.0.0.0/8,\n 10.1.0.0/16 \n\n')).toEqual(['10.0.0.0/8', '10.1.0.0/16'])
    expect(destinationsError(['10.0.0.0/8', '10.1.0.1/16'])).toBe(`Entry 2: ${HOST}`)
    expect(destinationsError([])).toBeNull()
  })
})
