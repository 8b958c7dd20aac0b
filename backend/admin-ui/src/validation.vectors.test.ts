import { describe, expect, it } from 'vitest'
import { cidrError, endpointError, ipError, nameError } from './validation'
import vectors from './validation.vectors.json'

// One file of vectors for the server (tests/shared/test_address_vectors.py) and the forms: the
// admin UI refuses exactly what the API refuses, with the same words.
type Case<T> = [string, T]

describe('forms agree with the server on the shared vectors', () => {
  it.each(vectors.cidr as Case<string | null>[])('cidr %j → %s', (input, expected) => {
    expect(cidrError(input)).toBe(expected)
  })
  it.each(vectors.ip as Case<string | null>[])('ip %j → %s', (input, expected) => {
    expect(ipError(input)).toBe(expected)
  })
  it.each(vectors.endpoint as Case<boolean>[])('endpoint %j valid=%s', (input, valid) => {
    expect(endpointError(input) === null).toBe(valid)
  })
  it.each(vectors.name as Case<boolean>[])('name %j valid=%s', (input, valid) => {
    expect(nameError(input) === null).toBe(valid)
  })
})
