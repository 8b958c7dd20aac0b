// Sign-in: a password (then a TOTP code when two-factor is on) or single sign-on with one of the
// server's identity providers. The session survives reloads and new tabs (HttpOnly cookie).

import { useEffect, useState } from 'react'
import type { FormEvent } from 'react'
import { Navigate, useLocation } from 'react-router-dom'
import type { Providers } from '../api/types'
import { useAuth } from '../auth'
import { Field, FormError, fieldErrorsOf } from '../components/ui'
import { prepareSso } from '../sso'

function TotpStep({ mfaToken, onCancel }: { mfaToken: string; onCancel: () => void }) {
  const { verifyMfa } = useAuth()
  const [code, setCode] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await verifyMfa(mfaToken, code.trim())
    } catch (exc) {
      setError(exc)
      setCode('')
      setBusy(false)
    }
  }
  return (
    <form className="card signin-card" onSubmit={(e) => void submit(e)} noValidate>
      <h1>Two-factor sign-in</h1>
      <p className="muted">Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
      <FormError error={error} fields={['code']} />
      <Field label="Code" error={fieldErrorsOf(error).code}>
        {(id, describedBy) => (
          <input
            id={id}
            name="code"
            autoComplete="one-time-code"
            inputMode="text"
            autoFocus
            value={code}
            onChange={(e) => setCode(e.target.value)}
            aria-describedby={describedBy}
            required
          />
        )}
      </Field>
      <button type="submit" className="primary" disabled={busy || !code.trim()}>
        {busy ? 'Checking…' : 'Verify'}
      </button>
      <button type="button" onClick={onCancel}>
        Back
      </button>
    </form>
  )
}

export function SignInPage() {
  const { user, signIn, notice, api } = useAuth()
  const location = useLocation()
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [mfaToken, setMfaToken] = useState<string | null>(null)
  const [providers, setProviders] = useState<Providers | null>(null)
  const from = (location.state as { from?: string } | null)?.from
  const target = from && from !== '/login' ? from : '/'
  const ssoError = (location.state as { ssoError?: string } | null)?.ssoError

  useEffect(() => {
    let live = true
    api
      .providers()
      .then((p) => {
        if (live) setProviders(p)
      })
      .catch(() => {
        // Older servers: password only.
      })
    return () => {
      live = false
    }
  }, [api])

  if (user) return <Navigate to={target} replace />
  if (mfaToken) return <div className="signin"><TotpStep mfaToken={mfaToken} onCancel={() => setMfaToken(null)} /></div>

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const next = await signIn(username.trim(), password)
      setPassword('')
      setBusy(false)
      if (next) setMfaToken(next.mfaToken)
    } catch (exc) {
      setError(exc)
      setPassword('')
      setBusy(false)
    }
  }
  const sso = async (provider: string) => {
    window.location.assign(await prepareSso(provider, target))
  }
  const fields = fieldErrorsOf(error)
  const passwordOn = providers?.password ?? true

  return (
    <div className="signin">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} noValidate>
        <h1>NexaVPN Admin</h1>
        {notice && !error && !ssoError && (
          <div className="alert alert-info" role="status">
            {notice}
          </div>
        )}
        {ssoError && !error && (
          <div className="alert alert-error" role="alert">
            {ssoError}
          </div>
        )}
        <FormError error={error} fields={['username', 'password']} />
        {passwordOn && (
          <>
            <Field label="Username" error={fields.username}>
              {(id, describedBy) => (
                <input
                  id={id}
                  name="username"
                  autoComplete="username"
                  value={username}
                  onChange={(e) => setUsername(e.target.value)}
                  aria-describedby={describedBy}
                  required
                />
              )}
            </Field>
            <Field label="Password" error={fields.password}>
              {(id, describedBy) => (
                <input
                  id={id}
                  name="password"
                  type="password"
                  autoComplete="current-password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  aria-describedby={describedBy}
                  required
                />
              )}
            </Field>
            <button type="submit" className="primary" disabled={busy || !username || !password}>
              {busy ? 'Signing in…' : 'Sign in'}
            </button>
          </>
        )}
        {(providers?.oidc ?? []).map((p) => (
          <button key={p.id} type="button" className="sso" onClick={() => void sso(p.id)}>
            Sign in with {p.name}
          </button>
        ))}
      </form>
    </div>
  )
}
