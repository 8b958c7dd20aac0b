// Sign-in. The session is kept in memory only: reloading the page asks to sign in again.

import { useState } from 'react'
import type { FormEvent } from 'react'
import { Navigate, useLocation } from 'react-router-dom'
import { useAuth } from '../auth'
import { Field, FormError, fieldErrorsOf } from '../components/ui'

export function SignInPage() {
  const { user, signIn, notice } = useAuth()
  const location = useLocation()
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)

  if (user) {
    const from = (location.state as { from?: string } | null)?.from
    return <Navigate to={from && from !== '/login' ? from : '/'} replace />
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await signIn(username.trim(), password)
    } catch (exc) {
      setError(exc)
      setPassword('')
      setBusy(false)
    }
  }
  const fields = fieldErrorsOf(error)

  return (
    <div className="signin">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} noValidate>
        <h1>NexaVPN Admin</h1>
        {notice && !error && (
          <div className="alert alert-info" role="status">
            {notice}
          </div>
        )}
        <FormError error={error} fields={['username', 'password']} />
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
        <p className="muted small">
          Your session is kept in this tab only: reloading or closing it signs you out.
        </p>
      </form>
    </div>
  )
}
